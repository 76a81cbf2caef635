-- The part of mail_template that names a forced server (13-15: name is plain text, translations elsewhere).
CREATE TABLE mail_template (
    id             serial PRIMARY KEY,
    name           varchar,
    mail_server_id integer REFERENCES ir_mail_server(id) ON DELETE SET NULL
);
