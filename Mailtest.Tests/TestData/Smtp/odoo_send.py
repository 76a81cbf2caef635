"""Sends mail the way Odoo's ir.mail_server does: SMTP(host, port, timeout), ehlo, starttls, ehlo,
login, send_message. Usage: odoo_send.py HOST PORT USER PASSWORD"""
import smtplib
import sys
from email.message import EmailMessage

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

message = EmailMessage()
message["Subject"] = "Quotation S00042"
message["From"] = "Sales <sales@company.example>"
message["To"] = "Customer <customer@client.example>"
message["Cc"] = "manager@client.example"
message["Bcc"] = "archive@company.example"
message.set_content("Dear customer,\n.\n..a line starting with dots\nBest regards\n")

international = EmailMessage()
international["Subject"] = "Bestellbestätigung"
international["From"] = "sales@company.example"
international["To"] = "jörg@bücher.example"
international.set_content("Grüße\n")

connection = smtplib.SMTP(host, port, timeout=60)
connection.ehlo()
connection.starttls()
connection.ehlo()
connection.login(user, password)
connection.send_message(message)
connection.send_message(international)
connection.quit()
print("sent")
