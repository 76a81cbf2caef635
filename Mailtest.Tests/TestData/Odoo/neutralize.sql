-- The ir_mail_server part of odoo-bin neutralize (base/data/neutralize.sql, 17.0+ and late 16.0).
UPDATE ir_mail_server SET active = false;
INSERT INTO ir_mail_server(name, smtp_port, smtp_host, smtp_encryption, active, smtp_authentication)
VALUES ('neutralization - disable emails', 1025, 'invalid', 'none', true, 'login');
