// Drives every method of the npm client mailpit-api 2.1.0 against one Mailtest environment's
// Mailpit-compatible base URL. Run by Mailtest.Tests/Mailpit/MailpitClientTests after `npm ci`.
// Environment: MAILPIT_URL (http://host/mailpit/ENV_ID), MAILPIT_TOKEN (an API token, the Basic password).
// Two messages are in the environment when it starts: "Reset your password" (newest, with a PDF
// attached and the reset link) and "Welcome aboard". Prints "ok <step>" per step; exits 1 on the first failure.
import assert from "node:assert/strict";
import { MailpitClient } from "mailpit-api";

const url = process.env.MAILPIT_URL;
const mailpit = new MailpitClient(url, { auth: { username: "ci", password: process.env.MAILPIT_TOKEN } });
const step = (name) => console.log(`ok ${name}`);
const rejects = async (promise, status, words) => {
  await assert.rejects(promise, (e) => {
    assert.match(e.message, new RegExp(`Mailpit API Error: ${status}`), e.message);
    assert.match(e.message, new RegExp(words, "i"), e.message);
    return true;
  });
};

try {
  // Authentication: a wrong token is refused.
  await rejects(new MailpitClient(url, { auth: { username: "ci", password: "mt_wrong" } }).getInfo(), 401, "token");
  step("wrong token refused");

  const info = await mailpit.getInfo();
  assert.equal(info.Messages, 2);
  assert.equal(info.Unread, 2);
  assert.equal(typeof info.Version, "string");
  step("getInfo");

  const config = await mailpit.getConfiguration();
  assert.equal(config.MessageRelay.Enabled, false);
  assert.equal(config.ChaosEnabled, true);
  assert.equal(config.SpamAssassin, false);
  step("getConfiguration");

  const list = await mailpit.listMessages();
  assert.equal(list.total, 2);
  assert.equal(list.messages_count, 2);
  assert.equal(list.unread, 2);
  assert.equal(list.start, 0);
  assert.deepEqual(list.messages.map((m) => m.Subject), ["Reset your password", "Welcome aboard"]);
  const reset = list.messages[0];
  assert.equal(reset.From.Address, "noreply@shop.example");
  assert.equal(reset.From.Name, "Shop");
  assert.deepEqual(reset.To.map((t) => t.Address), ["jane@client.example"]);
  assert.equal(reset.Attachments, 1);
  assert.equal(reset.Read, false);
  assert.ok(!Number.isNaN(Date.parse(reset.Created)));
  const page2 = await mailpit.listMessages(1, 1);
  assert.deepEqual(page2.messages.map((m) => m.Subject), ["Welcome aboard"]);
  assert.equal(page2.start, 1);
  step("listMessages");

  const found = await mailpit.searchMessages({ query: "subject:Welcome" });
  assert.equal(found.messages_count, 1);
  assert.equal(found.total, 2);
  assert.equal(found.messages[0].Subject, "Welcome aboard");
  step("searchMessages");

  const message = await mailpit.getMessageSummary(reset.ID);
  assert.equal(message.ID, reset.ID);
  assert.equal(message.Subject, "Reset your password");
  assert.match(message.Text, /https:\/\/shop\.example\/reset\?token=abc123/);
  assert.match(message.HTML, /href="https:\/\/shop\.example\/reset\?token=abc123"/);
  assert.equal(message.Attachments.length, 1);
  assert.equal(message.Attachments[0].FileName, "terms.pdf");
  assert.equal(message.Attachments[0].ContentType, "application/pdf");
  assert.equal(message.Attachments[0].Size, 3000);
  assert.deepEqual(message.Bcc.map((b) => b.Address), ["audit@shop.example"]);
  const latest = await mailpit.getMessageSummary();
  assert.equal(latest.ID, reset.ID);
  step("getMessageSummary");

  const headers = await mailpit.getMessageHeaders(reset.ID);
  assert.deepEqual(headers.Subject, ["Reset your password"]);
  assert.ok(Array.isArray(headers["Message-ID"] ?? headers["Message-Id"]));
  step("getMessageHeaders");

  const pdf = await mailpit.getMessageAttachment(reset.ID, message.Attachments[0].PartID);
  assert.equal(pdf.size, 3000);
  assert.equal(pdf.type, "application/pdf");
  const bytes = new Uint8Array(await pdf.arrayBuffer());
  assert.equal(bytes[0], 0);
  assert.equal(bytes[299], 299 % 251);
  step("getMessageAttachment");

  // A PDF is no image: Mailpit's blank 180x120 JPEG (Mailtest.Tests/Mailpit checks real images' pixels).
  const thumb = await mailpit.getAttachmentThumbnail(reset.ID, message.Attachments[0].PartID);
  assert.equal(thumb.type, "image/jpeg");
  const jpeg = new Uint8Array(await thumb.arrayBuffer());
  assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
  step("getAttachmentThumbnail");

  const source = await mailpit.getMessageSource(reset.ID);
  assert.match(source, /^Subject: Reset your password/m);
  step("getMessageSource");

  await rejects(mailpit.releaseMessage(reset.ID, ["jane@client.example"]), 403, "never");
  step("releaseMessage (never)");

  await rejects(mailpit.htmlCheck(reset.ID), 501, "HTML check");
  await rejects(mailpit.linkCheck(reset.ID), 501, "link check");
  await rejects(mailpit.spamAssassinCheck(reset.ID), 501, "spam check");
  step("htmlCheck, linkCheck, spamAssassinCheck (not supported)");

  const sent = await mailpit.sendMessage({
    From: { Email: "robot@shop.example", Name: "Robot" },
    To: [{ Email: "qa@client.example", Name: "QA" }],
    Bcc: ["hidden@client.example"],
    Subject: "Seeded order",
    Text: "Order 42",
    HTML: "<p>Order <b>42</b></p>",
    Attachments: [{ Content: Buffer.from("hello").toString("base64"), Filename: "hello.txt", ContentType: "text/plain" }],
    Tags: ["seed", "orders"],
    Headers: { "X-Order": "42" },
  });
  assert.match(sent.ID, /^[0-9a-f-]{36}$/);
  const seeded = await mailpit.getMessageSummary(sent.ID);
  assert.equal(seeded.Subject, "Seeded order");
  assert.deepEqual(seeded.Tags, ["orders", "seed"]);
  assert.deepEqual(seeded.Bcc.map((b) => b.Address), ["hidden@client.example"]);
  assert.equal(seeded.Attachments[0].FileName, "hello.txt");
  step("sendMessage");

  const waited = await mailpit.waitForMessage({ query: "subject:\"Seeded order\"" }, { timeout: 5000 });
  assert.equal(waited.ID, sent.ID);
  const waitedMany = await mailpit.waitForMessages({ count: 3 }, { timeout: 5000 });
  assert.equal(waitedMany.messages_count, 3);
  step("waitForMessage, waitForMessages");

  assert.equal(await mailpit.setReadStatus({ IDs: [reset.ID], Read: true }), "ok");
  assert.equal((await mailpit.listMessages()).messages.find((m) => m.ID === reset.ID).Read, true);
  assert.equal(await mailpit.setReadStatus({ Read: true }), "ok");
  assert.equal((await mailpit.getInfo()).Unread, 0);
  assert.equal(await mailpit.setReadStatus({ Search: "subject:Welcome", Read: false }), "ok");
  assert.equal((await mailpit.getInfo()).Unread, 1);
  assert.equal(await mailpit.setReadStatus(), "ok"); // no IDs, no Search, Read false: everything unread
  assert.equal((await mailpit.getInfo()).Unread, 3);
  step("setReadStatus");

  // Tags: sendMessage's Tags arrived as X-Tags and were stored; lists show them.
  const welcome = list.messages[1];
  assert.deepEqual(await mailpit.getTags(), ["orders", "seed"]);
  const listed = await mailpit.listMessages();
  assert.deepEqual(listed.messages.find((m) => m.ID === sent.ID).Tags, ["orders", "seed"]);
  assert.deepEqual(listed.messages.find((m) => m.ID === reset.ID).Tags, []);
  assert.deepEqual(listed.tags, ["orders", "seed"]);
  // setTags replaces; Mailpit's rules: trimmed, distinct ignoring case, other characters dropped, sorted.
  assert.equal(await mailpit.setTags({ IDs: [reset.ID, welcome.ID], Tags: [" Password reset ", "urgent", "URGENT", "q/a!"] }), "ok");
  assert.deepEqual((await mailpit.getMessageSummary(reset.ID)).Tags, ["Password reset", "qa", "urgent"]);
  assert.deepEqual(await mailpit.getTags(), ["orders", "Password reset", "qa", "seed", "urgent"]);
  assert.equal((await mailpit.searchMessages({ query: "tag:urgent" })).messages_count, 2);
  assert.equal((await mailpit.searchMessages({ query: "tag:\"password reset\"" })).messages_count, 2);
  assert.equal((await mailpit.searchMessages({ query: "tag:urg" })).messages_count, 0); // a whole tag, not a part of one
  assert.deepEqual((await mailpit.searchMessages({ query: "-tag:urgent" })).messages.map((m) => m.ID), [sent.ID]);
  // renameTag into an existing tag merges the two.
  assert.equal(await mailpit.renameTag("urgent", "seed"), "ok");
  assert.deepEqual((await mailpit.getMessageSummary(welcome.ID)).Tags, ["Password reset", "qa", "seed"]);
  assert.deepEqual(await mailpit.getTags(), ["orders", "Password reset", "qa", "seed"]);
  assert.equal((await mailpit.searchMessages({ query: "tag:seed" })).messages_count, 3);
  await rejects(mailpit.renameTag("no such tag", "x"), 404, "no such tag");
  // deleteTag removes the tag, never the messages.
  assert.equal(await mailpit.deleteTag("seed"), "ok");
  assert.deepEqual(await mailpit.getTags(), ["orders", "Password reset", "qa"]);
  assert.equal((await mailpit.listMessages()).total, 3);
  assert.equal(await mailpit.setTags({ IDs: [welcome.ID] }), "ok"); // no Tags: none left
  assert.deepEqual((await mailpit.getMessageSummary(welcome.ID)).Tags, []);
  assert.deepEqual((await mailpit.getInfo()).Tags, { orders: 1, "Password reset": 1, qa: 1 });
  step("getTags, setTags, renameTag, deleteTag");

  const chaos = await mailpit.getChaosTriggers();
  assert.deepEqual(chaos.Recipient, { ErrorCode: 451, Probability: 0 });
  const set = await mailpit.setChaosTriggers({ Recipient: { ErrorCode: 550, Probability: 100 } });
  assert.deepEqual(set.Recipient, { ErrorCode: 550, Probability: 100 });
  assert.deepEqual(set.Sender, { ErrorCode: 451, Probability: 0 });
  assert.deepEqual((await mailpit.getChaosTriggers()).Recipient, { ErrorCode: 550, Probability: 100 });
  await rejects(mailpit.setChaosTriggers({ Sender: { ErrorCode: 250, Probability: 10 } }), 400, "4xx or 5xx");
  const reset0 = await mailpit.setChaosTriggers();
  assert.equal(reset0.Recipient.Probability, 0);
  step("getChaosTriggers, setChaosTriggers");

  const html = await mailpit.renderMessageHTML(reset.ID);
  assert.match(html, /href="https:\/\/shop\.example\/reset\?token=abc123"/);
  const text = await mailpit.renderMessageText("latest");
  assert.match(text, /Order 42/);
  step("renderMessageHTML, renderMessageText");

  assert.equal(await mailpit.deleteMessagesBySearch({ query: "subject:Welcome" }), "ok");
  assert.equal((await mailpit.listMessages()).total, 2);
  assert.equal(await mailpit.deleteMessages({ IDs: [sent.ID] }), "ok");
  assert.deepEqual((await mailpit.listMessages()).messages.map((m) => m.ID), [reset.ID]);
  assert.equal(await mailpit.deleteMessages(), "ok");
  assert.equal((await mailpit.getInfo()).Messages, 0);
  await rejects(mailpit.getMessageSummary(), 404, "no messages");
  step("deleteMessagesBySearch, deleteMessages");

  console.log("all ok");
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
