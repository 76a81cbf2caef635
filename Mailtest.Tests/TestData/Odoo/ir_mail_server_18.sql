-- Odoo 18.0: adds max_email_size and the rule that certificate authentication needs TLS.
CREATE TABLE ir_mail_server (
    id                   serial NOT NULL,
    name                 varchar NOT NULL,
    from_filter          varchar,
    smtp_host            varchar,
    smtp_port            integer,
    smtp_authentication  varchar NOT NULL,
    smtp_user            varchar,
    smtp_pass            varchar,
    smtp_encryption      varchar NOT NULL,
    smtp_ssl_certificate bytea,
    smtp_ssl_private_key bytea,
    smtp_debug           boolean DEFAULT false,
    max_email_size       double precision,
    sequence             integer,
    active               boolean DEFAULT false,
    create_uid           integer,
    create_date          timestamp without time zone,
    write_uid            integer,
    write_date           timestamp without time zone,
    PRIMARY KEY (id),
    CONSTRAINT ir_mail_server_certificate_requires_tls
        CHECK (smtp_encryption != 'none' OR smtp_authentication != 'certificate')
);
ALTER TABLE ir_mail_server ADD FOREIGN KEY (create_uid) REFERENCES res_users(id) ON DELETE SET NULL;
ALTER TABLE ir_mail_server ADD FOREIGN KEY (write_uid)  REFERENCES res_users(id) ON DELETE SET NULL;
CREATE INDEX ir_mail_server__name_index ON ir_mail_server (name);
