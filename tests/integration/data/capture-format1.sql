-- SPDX-License-Identifier: GPL-3.0-or-later
-- A capture of format 1 (schema 2) written by FleetScope 0.1.0 (`fleetscope-gateway export`), as SQL text: test_capture
-- rebuilds the file from it and checks that this build still opens it. Keep it: it stands for the captures
-- engineers already have.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE devices(
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    samples INTEGER NOT NULL DEFAULT 0);
INSERT INTO devices VALUES(1,'pump-1',1795725866809,1795725866813,3);
INSERT INTO devices VALUES(2,'pump-0',1795725866810,1795725866814,3);
CREATE TABLE metrics(
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL);
INSERT INTO metrics VALUES(1,'temp_c');
INSERT INTO metrics VALUES(2,'rssi');
CREATE TABLE samples(
    device_id INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL,
    PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID;
INSERT INTO samples VALUES(1,1,1795725866809,0,21.100000000000001421);
INSERT INTO samples VALUES(1,1,1795725866811,0,21.30000000000000071);
INSERT INTO samples VALUES(1,1,1795725866813,0,21.5);
INSERT INTO samples VALUES(1,2,1795725866809,0,-67.0);
INSERT INTO samples VALUES(1,2,1795725866811,0,-67.0);
INSERT INTO samples VALUES(1,2,1795725866813,0,-67.0);
INSERT INTO samples VALUES(2,1,1795725866810,0,21.199999999999999289);
INSERT INTO samples VALUES(2,1,1795725866812,0,21.399999999999998578);
INSERT INTO samples VALUES(2,1,1795725866814,0,21.600000000000001421);
INSERT INTO samples VALUES(2,2,1795725866810,0,-67.0);
INSERT INTO samples VALUES(2,2,1795725866812,0,-67.0);
INSERT INTO samples VALUES(2,2,1795725866814,0,-67.0);
CREATE TABLE recent(
    device_id INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL);
CREATE TABLE sessions(
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT,
    app_version TEXT NOT NULL,
    settings TEXT NOT NULL);
INSERT INTO sessions VALUES(1,1795725865880,1795725868287,'stop','0.1.0','{"listen":"127.0.0.1:0","backlog":4096,"max-connections":0,"workers":2,"fiber-stack-bytes":65536,"stack-cache":256,"park-after":200,"max-header-bytes":8192,"max-body-bytes":1048576,"max-samples":1000,"max-metrics":256,"max-json-depth":8,"header-timeout":10000,"body-timeout":30000,"idle-timeout":300000,"write-timeout":10000,"db":"t.db","store-queue":262144,"max-batch":16384,"store-busy-timeout":5000,"retry-after":1,"sample-interval":100,"subscriber-queue":65536,"stale-after":60000,"timeline-interval":500}');
CREATE TABLE marks(
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    label TEXT NOT NULL,
    from_ts INTEGER NOT NULL,
    to_ts INTEGER NOT NULL);
INSERT INTO marks VALUES(1,1,'warm-up',1795725865880,1795725866380);
CREATE TABLE timeline(
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    series TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (session_id, series, ts)) WITHOUT ROWID;
INSERT INTO timeline VALUES(1,'connections',1795725866388,0.0);
INSERT INTO timeline VALUES(1,'connections',1795725866904,0.0);
INSERT INTO timeline VALUES(1,'connections',1795725867417,0.0);
INSERT INTO timeline VALUES(1,'connections',1795725867920,0.0);
INSERT INTO timeline VALUES(1,'ready_depth.0',1795725866388,0.0);
INSERT INTO timeline VALUES(1,'ready_depth.0',1795725866904,0.0);
INSERT INTO timeline VALUES(1,'ready_depth.0',1795725867417,0.0);
INSERT INTO timeline VALUES(1,'ready_depth.0',1795725867920,0.0);
INSERT INTO timeline VALUES(1,'samples_rate',1795725866388,0.0);
INSERT INTO timeline VALUES(1,'samples_rate',1795725866904,1.9379844961240308975);
INSERT INTO timeline VALUES(1,'samples_rate',1795725867417,9.7465886939571149127);
INSERT INTO timeline VALUES(1,'samples_rate',1795725867920,0.0);
CREATE TABLE alerts(
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    cleared_at INTEGER,
    acked_at INTEGER,
    message TEXT NOT NULL);
CREATE TABLE meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES('app_version','0.1.0');
INSERT INTO meta VALUES('capture_format','1');
INSERT INTO meta VALUES('exported_at','1795725869331');
INSERT INTO meta VALUES('filters','{"devices":[],"metrics":[]}');
INSERT INTO meta VALUES('origin','/tmp/cc-fx/t.db');
INSERT INTO meta VALUES('samples','12');
INSERT INTO meta VALUES('source_schema','2');
COMMIT;
PRAGMA user_version = 2;
