-- Columns added only when google_gmail / microsoft_outlook are installed (16.0+: smtp_authentication 'gmail' / 'outlook').
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS google_gmail_authorization_code varchar;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS google_gmail_refresh_token varchar;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS google_gmail_access_token varchar;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS google_gmail_access_token_expiration integer;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS microsoft_outlook_refresh_token varchar;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS microsoft_outlook_access_token varchar;
ALTER TABLE ir_mail_server ADD COLUMN IF NOT EXISTS microsoft_outlook_access_token_expiration integer;
