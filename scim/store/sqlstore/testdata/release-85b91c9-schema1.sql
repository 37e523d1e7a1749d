-- A links database as scim-bridge wrote it at commit 85b91c9 (schema version 1), dumped with the sqlite3 shell's
-- .dump. Released fixtures are never edited: fixture_test.go opens each with the current code to prove that a
-- database written by that release still opens, migrates and reads back. When a migration is added, add a
-- fixture written by the release before it, beside this one.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (
	version    integer PRIMARY KEY,
	name       text    NOT NULL,
	applied_ms bigint  NOT NULL
);
INSERT INTO schema_migrations VALUES(1,'create links',1796112860554);
CREATE TABLE links (
				namespace       text    NOT NULL,
				id              text    NOT NULL,
				user_name       text    NOT NULL,
				user_name_fold  text    NOT NULL,
				external_id     text    NOT NULL DEFAULT '',
				email           text    NOT NULL DEFAULT '',
				email_fold      text    NOT NULL DEFAULT '',
				extras          text,
				deleted         integer NOT NULL DEFAULT 0,
				version         bigint  NOT NULL,
				created_ms      bigint  NOT NULL,
				modified_ms     bigint  NOT NULL,
				PRIMARY KEY (namespace, id)
			);
INSERT INTO links VALUES('trainual','1001','Alice.Smith@Example.com','alice.smith@example.com','00u1abc','Alice.Smith@Example.com','alice.smith@example.com','{"resource":{"userName":"Alice.Smith@Example.com","name":{"givenName":"Alice","familyName":"Smith"},"title":"Ingénieure principale ✓"},"seen":{"email":"Alice.Smith@Example.com"}}',0,3,1796112860555,1796112860557);
INSERT INTO links VALUES('trainual','1002','bob@example.com','bob@example.com','','bob@example.com','bob@example.com','{"resource":{"userName":"bob@example.com"}}',1,2,1796112860555,1796112860556);
INSERT INTO links VALUES('trainual','1003','carol@example.com','carol@example.com','shared-ext','','',NULL,0,1,1796112860555,1796112860555);
INSERT INTO links VALUES('thoughtindustries','7f3c2a9e-0b1d-4e5f-8a6b-1c2d3e4f5a6b','alice.smith@example.com','alice.smith@example.com','shared-ext','alice.smith@example.com','alice.smith@example.com','{}',0,1,1796112860555,1796112860555);
INSERT INTO links VALUES('thoughtindustries','0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d','dave@example.com','dave@example.com','','','',NULL,1,1,1796112860555,1796112860555);
CREATE UNIQUE INDEX links_live_user_name ON links (namespace, user_name_fold) WHERE deleted = 0;
CREATE INDEX links_live_external_id ON links (namespace, external_id) WHERE deleted = 0;
CREATE INDEX links_live_email ON links (namespace, email_fold) WHERE deleted = 0;
COMMIT;
