-- Odoo 19.0: 'starttls_strict' / 'ssl_strict' encryption; the mail module's personal servers (owner_*).
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
    owner_user_id        integer,
    owner_limit_time     timestamp without time zone,
    owner_limit_count    integer,
    PRIMARY KEY (id),
    CONSTRAINT ir_mail_server_certificate_requires_tls
        CHECK (smtp_encryption != 'none' OR smtp_authentication != 'certificate'),
    CONSTRAINT ir_mail_server_unique_owner_user_id UNIQUE (owner_user_id)
);
ALTER TABLE ir_mail_server ADD FOREIGN KEY (create_uid)    REFERENCES res_users(id) ON DELETE SET NULL;
ALTER TABLE ir_mail_server ADD FOREIGN KEY (write_uid)     REFERENCES res_users(id) ON DELETE SET NULL;
ALTER TABLE ir_mail_server ADD FOREIGN KEY (owner_user_id) REFERENCES res_users(id) ON DELETE SET NULL;
CREATE INDEX ir_mail_server__name_index ON ir_mail_server (name);
