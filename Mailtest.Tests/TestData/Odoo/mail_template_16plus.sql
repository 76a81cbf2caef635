-- 16.0+: translatable fields are jsonb keyed by language.
CREATE TABLE mail_template (
    id             serial PRIMARY KEY,
    name           jsonb,
    mail_server_id integer REFERENCES ir_mail_server(id) ON DELETE SET NULL
);
