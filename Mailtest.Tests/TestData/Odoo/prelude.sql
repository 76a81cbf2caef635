-- Stand-ins for the Odoo tables ir_mail_server depends on.
-- res_users: the foreign keys of create_uid / write_uid (and 19's owner_user_id) need it.
CREATE TABLE IF NOT EXISTS res_users (id serial PRIMARY KEY);
INSERT INTO res_users (id) VALUES (1), (2) ON CONFLICT DO NOTHING;
SELECT setval('res_users_id_seq', 2);
-- ir_module_module: where the real version is read (latest_version of 'base', e.g. '17.0.1.3').
CREATE TABLE IF NOT EXISTS ir_module_module (
    id             serial PRIMARY KEY,
    name           varchar NOT NULL,
    state          varchar,
    latest_version varchar
);
