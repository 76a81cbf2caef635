"""Sends one mail the way Odoo's ir.mail_server.connect() does with one row's values:
SMTP_SSL for 'ssl', else SMTP(host, port, timeout=60) and starttls() for 'starttls'; login() only
when smtp_user is set; send_message. Prints "sent", or "refused <code> <text>" when AUTH is refused.
Usage: odoo_send_row.py HOST PORT ENCRYPTION USER PASSWORD SUBJECT"""
import smtplib
import sys
from email.message import EmailMessage

host, port, encryption, user, password, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

message = EmailMessage()
message["Subject"] = subject
message["From"] = "Sales <sales@example.com>"
message["To"] = "customer@client.example"
message.set_content("Your order is confirmed.\n")

if encryption == "ssl":
    connection = smtplib.SMTP_SSL(host, port, timeout=60)
else:
    connection = smtplib.SMTP(host, port, timeout=60)
connection.ehlo()
if encryption == "starttls":
    connection.starttls()
    connection.ehlo()
try:
    if user:
        connection.login(user, password)
except smtplib.SMTPAuthenticationError as error:
    print("refused", error.smtp_code, error.smtp_error.decode())
    sys.exit(0)
connection.send_message(message)
connection.quit()
print("sent")
