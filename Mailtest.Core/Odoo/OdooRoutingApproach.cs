namespace Mailtest.Core.Odoo;

/// <summary>Which way Mailtest reroutes an Odoo database: C from Odoo 16 on, D for 13–15.</summary>
public enum OdooRoutingApproach
{
    /// <summary>Odoo 16+: insert a marker row, archive every other row.</summary>
    C = 0,
    /// <summary>Odoo 13–15: rewrite every row in place (plus a marker when no row is active).</summary>
    D = 1,
}

public static class OdooRoutingApproaches
{
    /// <summary>The first Odoo major version rerouted with approach C: the one cut-off between C and D.</summary>
    public const int FirstWithMarkerOnly = 16;

    public static OdooRoutingApproach For(int odooMajorVersion) =>
        odooMajorVersion >= FirstWithMarkerOnly ? OdooRoutingApproach.C : OdooRoutingApproach.D;
}
