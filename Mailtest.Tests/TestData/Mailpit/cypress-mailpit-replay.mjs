// Replays, with fetch, the HTTP calls cypress-mailpit 2.0.0 makes (dist/src/MailpitCommands.js):
// the same methods, URLs (including the "//view" its mailpitUrl(path, false) builds), query strings,
// JSON bodies and Basic authentication from MAILPIT_USERNAME / MAILPIT_PASSWORD.
// Environment: MAILPIT_URL (http://host/mailpit/ENV_ID), MAILPIT_PASSWORD (an API token).
// The environment starts empty. Prints "ok <command>" per command; exits 1 on the first failure.
import assert from "node:assert/strict";

const baseUrl = process.env.MAILPIT_URL;
const auth = "Basic " + Buffer.from(`ci:${process.env.MAILPIT_PASSWORD}`).toString("base64");
const mailpitUrl = (path, isApi = true) => `${baseUrl}/${isApi ? "api" : ""}${path}`;
// cy.request: JSON body when one is given, qs appended, fails on a non-2xx status.
async function request({ method, url, body, qs }) {
  const target = new URL(url);
  for (const [key, value] of Object.entries(qs ?? {})) target.searchParams.set(key, String(value));
  const response = await fetch(target, {
    method,
    headers: { Authorization: auth, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, body: type.includes("json") ? JSON.parse(text) : text };
}
async function ok(options) {
  const response = await request(options);
  assert.ok(response.status >= 200 && response.status < 300, `${options.method} ${options.url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}
const step = (name) => console.log(`ok ${name}`);

const mailpitSendMail = (options) => ok({
  method: "POST", url: mailpitUrl("/v1/send"), body: {
    Attachments: options?.attachments ?? [],
    Bcc: options?.bcc ?? ["bcc@example.com"],
    Cc: options?.cc ?? [{ Email: "cc@example.com", Name: "CC" }],
    From: options?.from ?? { Email: "from@example.com", Name: "From" },
    HTML: options?.htmlBody ?? "<p>hello from mailpit</p>",
    Headers: options?.headers ?? {},
    ReplyTo: options?.replyTo ?? [{ Email: "replyto@example.com", Name: "ReplyTo" }],
    Subject: options?.subject ?? "Hello Mailpit",
    Tags: options?.tags ?? [],
    Text: options?.textBody ?? "hello from mailpit",
    To: options?.to ?? [{ Email: "jane@example.com", Name: "Jane" }],
  },
});
const mailpitGetAllMails = (start = 0, limit = 50) => ok({ method: "GET", url: mailpitUrl(`/v1/messages?start=${start}&limit=${limit}`) });
const mailpitGetMail = (id = "latest") => ok({ method: "GET", url: mailpitUrl(`/v1/message/${id}`) });
const mailpitSearchEmails = (query, start = 0, limit = 50) => ok({ method: "GET", url: mailpitUrl("/v1/search"), qs: { query, start, limit } });
const mailpitGetEmailsBySubject = (subject) => mailpitSearchEmails(`subject:${subject}`);
const mailpitGetEmailsByTo = (email) => mailpitSearchEmails(`to:${email}`);
const mailpitDeleteAllEmails = () => ok({ method: "DELETE", url: mailpitUrl("/v1/messages") });
const mailpitDeleteEmailsBySearch = (query) => ok({ method: "DELETE", url: mailpitUrl("/v1/search"), qs: { query } });
const mailpitGetMailSpamAssassinSummary = (message) => request({ method: "GET", url: mailpitUrl(`/v1/message/${message.ID}/sa-check`) });
const mailpitGetMailHTMlBody = (message) => ok({ method: "GET", url: mailpitUrl(`/view/${message.ID}.html`, false) });
const mailpitGetMailTextBody = (message) => ok({ method: "GET", url: mailpitUrl(`/view/${message.ID}.txt`, false) });
const setReadStatus = (messages, isRead) => {
  const IDs = !messages ? [] : Array.isArray(messages) ? messages.map((m) => m.ID) : [messages.ID];
  return ok({ method: "PUT", url: mailpitUrl("/v1/messages"), body: { IDs, Read: isRead } });
};

try {
  const sent = await mailpitSendMail();
  assert.ok(sent.ID);
  await mailpitSendMail({ subject: "Reset your password", to: [{ Email: "john@example.com" }], htmlBody: '<a href="https://app.example/reset?t=1">Reset</a>', textBody: "https://app.example/reset?t=1" });
  step("mailpitSendMail");

  const all = await mailpitGetAllMails();
  assert.equal(all.messages_count, 2);
  assert.deepEqual(all.messages.map((m) => m.Subject), ["Reset your password", "Hello Mailpit"]);
  step("mailpitGetAllMails");

  const bySubject = await mailpitGetEmailsBySubject("Reset");
  assert.equal(bySubject.messages_count, 1);
  const byTo = await mailpitGetEmailsByTo("jane@example.com");
  assert.equal(byTo.messages_count, 1);
  assert.equal(byTo.messages[0].ID, sent.ID);
  const none = await mailpitSearchEmails("subject:nothing-like-this");
  assert.equal(none.messages_count, 0); // mailpitNotHasEmailsBySearch's condition
  step("mailpitSearchEmails, mailpitGetEmailsBySubject, mailpitGetEmailsByTo");

  const latest = await mailpitGetMail();
  assert.equal(latest.Subject, "Reset your password");
  const hello = await mailpitGetMail(sent.ID);
  assert.equal(hello.Subject, "Hello Mailpit"); // mailpitGetSubject
  assert.deepEqual(hello.To.map((r) => r.Address), ["jane@example.com"]); // mailpitGetRecipientAddress
  assert.equal(hello.From.Address, "from@example.com"); // mailpitGetFromAddress
  assert.deepEqual(hello.Attachments.map((a) => a.FileName), []); // mailpitGetAttachments
  assert.deepEqual(hello.Cc.map((r) => r.Address), ["cc@example.com"]);
  assert.deepEqual(hello.Bcc.map((r) => r.Address), ["bcc@example.com"]);
  assert.deepEqual(hello.ReplyTo.map((r) => r.Address), ["replyto@example.com"]);
  step("mailpitGetMail");

  const html = await mailpitGetMailHTMlBody(latest);
  assert.match(html, /href="https:\/\/app\.example\/reset\?t=1"/);
  const text = await mailpitGetMailTextBody(latest);
  assert.match(text, /https:\/\/app\.example\/reset\?t=1/);
  step("mailpitGetMailHTMlBody, mailpitGetMailTextBody");

  const spam = await mailpitGetMailSpamAssassinSummary(latest);
  assert.equal(spam.status, 501);
  assert.match(JSON.stringify(spam.body), /spam check/i);
  step("mailpitGetMailSpamAssassinSummary (not supported: a clear 501)");

  await setReadStatus([hello], true);
  assert.equal((await mailpitGetMail(sent.ID)).Read ?? (await mailpitGetAllMails()).messages.find((m) => m.ID === sent.ID).Read, true);
  await setReadStatus(null, true); // mailpitSetAllEmailStatusAsRead
  assert.equal((await mailpitGetAllMails()).messages_unread, 0);
  await setReadStatus(latest, false); // mailpitSetStatusAsUnRead
  assert.equal((await mailpitGetAllMails()).messages_unread, 1);
  await setReadStatus(null, false); // mailpitSetAllEmailStatusAsUnRead
  assert.equal((await mailpitGetAllMails()).messages_unread, 2);
  step("mailpitSetStatusAsRead, mailpitSetAllEmailStatusAsRead, mailpitSetStatusAsUnRead, mailpitSetAllEmailStatusAsUnRead");

  await mailpitDeleteEmailsBySearch("subject:Reset");
  assert.equal((await mailpitGetAllMails()).messages_count, 1);
  step("mailpitDeleteEmailsBySearch");

  await mailpitDeleteAllEmails();
  assert.equal((await mailpitGetAllMails()).messages_count, 0);
  step("mailpitDeleteAllEmails");

  console.log("all ok");
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
