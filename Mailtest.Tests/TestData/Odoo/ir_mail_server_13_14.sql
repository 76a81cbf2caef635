-- Odoo 13.0 and 14.0 (unchanged since 12 per OpenUpgrade). Odoo's ORM defaults (port 25, sequence 10,
-- active true, encryption 'none') are not database defaults.
CREATE TABLE ir_mail_server (
    id               serial NOT NULL,
    name             varchar NOT NULL,
    smtp_host        varchar NOT NULL,
    smtp_port        integer NOT NULL,
    smtp_user        varchar,
    smtp_pass        varchar,
    smtp_encryption  varchar NOT NULL,
    smtp_debug       boolean DEFAULT false,
    sequence         integer,
    active           boolean DEFAULT false,
    create_uid       integer,
    create_date      timestamp without time zone,
    write_uid        integer,
    write_date       timestamp without time zone,
    PRIMARY KEY (id)
);
ALTER TABLE ir_mail_server ADD FOREIGN KEY (create_uid) REFERENCES res_users(id) ON DELETE SET NULL;
ALTER TABLE ir_mail_server ADD FOREIGN KEY (write_uid)  REFERENCES res_users(id) ON DELETE SET NULL;
CREATE INDEX ir_mail_server_name_index ON ir_mail_server (name);
