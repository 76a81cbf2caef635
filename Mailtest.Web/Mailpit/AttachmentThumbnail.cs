using SkiaSharp;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// Mailpit's attachment thumbnail (<c>/part/{PartID}/thumb</c>): a 180×120 JPEG on white. An image
/// larger than the box is scaled to fill it and cropped to its centre, a smaller one is scaled down
/// only as far as it must to fit and centred; anything that is not an image Mailtest can decode gets
/// the blank white box, as Mailpit answers.
/// </summary>
public static class AttachmentThumbnail
{
    public const int Width = 180;
    public const int Height = 120;
    private const int JpegQuality = 70;

    /// <summary>
    /// Images are hostile input: one whose decoded size passes this many pixels (after the codec's own
    /// downscaling, which JPEG has) is not decoded at all, so a small crafted file cannot claim gigabytes.
    /// </summary>
    public const long MaxDecodedPixels = 25_000_000;

    public static byte[] Render(byte[] content, string contentType)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White); // transparent GIF/PNG on white, not black
        if (contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) && Decode(content) is { } image)
        {
            using (image)
            {
                var (source, target) = Placement(image.Width, image.Height);
                canvas.DrawImage(image, source, target, new SKSamplingOptions(SKCubicResampler.Mitchell));
            }
        }
        using var snapshot = surface.Snapshot();
        using var jpeg = snapshot.Encode(SKEncodedImageFormat.Jpeg, JpegQuality);
        return jpeg.ToArray();
    }

    /// <summary>Which part of the image goes where in the box.</summary>
    private static (SKRect Source, SKRect Target) Placement(int width, int height)
    {
        var whole = SKRect.Create(width, height);
        if (width < Width || height < Height)
        {
            // Fit: scaled down (never up) until both sides fit, centred on white.
            var scale = Math.Min(1f, Math.Min((float)Width / width, (float)Height / height));
            var (w, h) = (width * scale, height * scale);
            return (whole, SKRect.Create((Width - w) / 2, (Height - h) / 2, w, h));
        }
        // Fill: scaled until the box is covered, the overflow cropped evenly on both sides.
        var cover = Math.Max((float)Width / width, (float)Height / height);
        var (cropWidth, cropHeight) = (Width / cover, Height / cover);
        return (SKRect.Create((width - cropWidth) / 2, (height - cropHeight) / 2, cropWidth, cropHeight), SKRect.Create(Width, Height));
    }

    private static SKImage? Decode(byte[] content)
    {
        using var data = SKData.CreateCopy(content);
        using var codec = SKCodec.Create(data);
        if (codec is null) return null;
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) return null;
        // Decode no larger than needed: the codec picks the nearest size it can produce cheaply (JPEG: 1/2, 1/4, 1/8).
        var wanted = Math.Min(1f, Math.Max((float)Width / info.Width, (float)Height / info.Height) * 2);
        var size = codec.GetScaledDimensions(wanted);
        if ((long)size.Width * size.Height > MaxDecodedPixels) return null;
        using var bitmap = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        // A truncated image still shows what was decoded, as browsers do.
        return result is SKCodecResult.Success or SKCodecResult.IncompleteInput ? SKImage.FromBitmap(bitmap) : null;
    }
}
