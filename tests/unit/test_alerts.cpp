// SPDX-License-Identifier: GPL-3.0-or-later
// Alert rules: the semantics table (edges at the threshold, hysteresis, holds, rates, ranges, globs, stale,
// gateway signals) driven with explicit timestamps; validation; the rules file; the engine's lists, feeds,
// acknowledge and live rule changes.
#include "core/alerts/alerts.hpp"

#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <fstream>

using namespace fleetscope;
using alerts::AlertEvent;

namespace {

/// Runs `script` against one rule and returns the events as "raised dev@t;cleared dev@t;...".
/// Steps, separated by ';':
///   s DEVICE TS VALUE [METRIC]   one committed sample (metric "v" by default), at wall time TS
///   t AT                         a plain snapshot at AT (stale rules)
///   g AT key=value ...           a snapshot at AT with store_queue, ready (deepest worker), c4xx, c5xx,
///   drops,
///                                lq, lql (listen queue and limit), open, ceil (connections and ceiling)
QString run_script(const alerts::Rule& rule, const QString& script)
{
    QStringList out;
    alerts::Engine engine(alerts::Engine::Options{
        0, 100, [&](std::span<const AlertEvent> events) {
            for (const AlertEvent& e : events) {
                const auto at = e.kind == AlertEvent::Kind::raised ? e.alert.raised_at : *e.alert.cleared_at;
                out << QString("%1 %2@%3")
                           .arg(QString::fromUtf8(alerts::to_string(e.kind).data()),
                                QString::fromStdString(e.alert.subject))
                           .arg(at);
            }
        }});
    const auto applied = engine.set_rules({rule}, 0);
    if (!applied)
        return "invalid: " + QString::fromStdString(applied.error());
    for (const QString& raw : script.split(';', Qt::SkipEmptyParts)) {
        const QStringList f = raw.trimmed().split(' ', Qt::SkipEmptyParts);
        if (f.value(0) == "s") {
            telemetry::Sample s{f.value(1).toStdString(),
                                f.value(2).toLongLong(),
                                {{f.size() > 4 ? f.value(4).toStdString() : "v", f.value(3).toDouble()}}};
            engine.on_samples(std::span(&s, 1), s.ts_ms);
        } else if (f.value(0) == "t" || f.value(0) == "g") {
            metrics::Snapshot snap;
            snap.at_ms = f.value(1).toLongLong();
            snap.workers.resize(2);
            for (int i = 2; i < f.size(); ++i) {
                const auto kv = f[i].split('=');
                const auto k = kv.value(0);
                const auto v = kv.value(1).toLongLong();
                if (k == "store_queue")
                    snap.store_queue = static_cast<std::uint64_t>(v);
                else if (k == "ready")
                    snap.workers[1].ready_depth = static_cast<std::uint32_t>(v);
                else if (k == "c4xx")
                    snap.responses_by_class[4] = static_cast<std::uint64_t>(v);
                else if (k == "c5xx")
                    snap.responses_by_class[5] = static_cast<std::uint64_t>(v);
                else if (k == "drops")
                    snap.listen_drops = v;
                else if (k == "lq")
                    snap.listen_queue = v;
                else if (k == "lql")
                    snap.listen_queue_limit = v;
                else if (k == "open")
                    snap.connections_open = static_cast<std::uint64_t>(v);
                else if (k == "ceil")
                    snap.connection_ceiling = static_cast<std::uint64_t>(v);
                else
                    return "bad script key " + k;
            }
            engine.on_snapshot(snap);
        } else {
            return "bad script step " + raw;
        }
    }
    return out.join(';');
}

alerts::Rule parse_one(const QString& json)
{
    auto r = alerts::parse_rules(("{\"rules\":[" + json + "]}").toStdString());
    if (!r.ok()) {
        qWarning("%s", r.error().c_str());
        return {};
    }
    return r->front();
}

} // namespace

class TestAlerts : public QObject {
    Q_OBJECT
private slots:
    void semantics_data();
    void semantics();
    void validation_data();
    void validation();
    void rulesFileRoundTrip();
    void missingFileIsNoRules();
    void saveRefusesInvalidRules();
    void acknowledge();
    void recentIsBoundedAndNewestFirst();
    void feedsAndCounts();
    void liveRuleChangesKeepUnchangedAlerts();
    void idsCarryTheSession();
    void staleRulesAddedLaterSeeKnownDevices();
    void logLineAndJson();
};

void TestAlerts::semantics_data()
{
    QTest::addColumn<QString>("rule");
    QTest::addColumn<QString>("script");
    QTest::addColumn<QString>("expected");

    const QString above =
        R"({"name":"r","kind":"metric","devices":"*","metric":"v","condition":"above","threshold":80)";
    QTest::addRow("above: equal to the threshold is fine") << above + "}"
                                                           << "s d 1000 80"
                                                           << "";
    QTest::addRow("above: just over raises") << above + "}"
                                             << "s d 1000 80.001"
                                             << "raised d@1000";
    QTest::addRow("above: clears at the threshold") << above + "}"
                                                    << "s d 1000 81; s d 2000 80"
                                                    << "raised d@1000;cleared d@2000";
    QTest::addRow("above: stays raised while over") << above + "}"
                                                    << "s d 1000 81; s d 2000 90; s d 3000 80.5"
                                                    << "raised d@1000";
    QTest::addRow("above: hysteresis holds inside the band") << above + R"(,"clear":75})"
                                                             << "s d 1000 81; s d 2000 78; s d 3000 75.01"
                                                             << "raised d@1000";
    QTest::addRow("above: hysteresis clears at the clear value") << above + R"(,"clear":75})"
                                                                 << "s d 1000 81; s d 2000 78; s d 3000 75"
                                                                 << "raised d@1000;cleared d@3000";
    QTest::addRow("above: inside the band before raising does nothing") << above + R"(,"clear":75})"
                                                                        << "s d 1000 78; s d 2000 70"
                                                                        << "";
    QTest::addRow("above: raises again after clearing") << above + "}"
                                                        << "s d 1000 81; s d 2000 79; s d 3000 81"
                                                        << "raised d@1000;cleared d@2000;raised d@3000";
    QTest::addRow("hold: not before the hold") << above + R"(,"hold_ms":2000})"
                                               << "s d 1000 81; s d 2000 81; s d 2999 81"
                                               << "";
    QTest::addRow("hold: exactly at the hold raises") << above + R"(,"hold_ms":2000})"
                                                      << "s d 1000 81; s d 2000 81; s d 3000 81"
                                                      << "raised d@3000";
    QTest::addRow("hold: a good reading restarts it")
        << above + R"(,"hold_ms":2000})"
        << "s d 1000 81; s d 2000 79; s d 3000 81; s d 4000 81; s d 5000 81"
        << "raised d@5000";
    QTest::addRow("hold: per device") << above + R"(,"hold_ms":1000})"
                                      << "s a 1000 81; s b 1500 81; s a 2000 81; s b 2000 81; s b 2500 81"
                                      << "raised a@2000;raised b@2500";

    const QString below =
        R"({"name":"r","kind":"metric","devices":"*","metric":"v","condition":"below","threshold":10)";
    QTest::addRow("below: equal is fine") << below + "}"
                                          << "s d 1000 10"
                                          << "";
    QTest::addRow("below: under raises, equal clears") << below + "}"
                                                       << "s d 1000 9.99; s d 2000 10"
                                                       << "raised d@1000;cleared d@2000";
    QTest::addRow("below: hysteresis") << below + R"(,"clear":12})"
                                       << "s d 1000 9; s d 2000 11.9; s d 3000 12"
                                       << "raised d@1000;cleared d@3000";

    const QString outside =
        R"({"name":"r","kind":"metric","devices":"*","metric":"v","condition":"outside","low":1,"high":3)";
    QTest::addRow("outside: both edges are inside") << outside + "}"
                                                    << "s d 1000 1; s d 2000 3"
                                                    << "";
    QTest::addRow("outside: under low raises") << outside + "}"
                                               << "s d 1000 0.99; s d 2000 1"
                                               << "raised d@1000;cleared d@2000";
    QTest::addRow("outside: over high raises") << outside + "}"
                                               << "s d 1000 3.01"
                                               << "raised d@1000";
    QTest::addRow("outside: clear band") << outside + R"(,"clear_low":1.2,"clear_high":2.8})"
                                         << "s d 1000 4; s d 2000 2.9; s d 3000 1.1; s d 4000 1.2"
                                         << "raised d@1000;cleared d@4000";
    QTest::addRow("outside: from high straight to low stays raised") << outside + "}"
                                                                     << "s d 1000 4; s d 2000 0"
                                                                     << "raised d@1000";

    const QString rate =
        R"({"name":"r","kind":"metric","devices":"*","metric":"v","condition":"rate_above","threshold":0.5)";
    QTest::addRow("rate: first sample has no rate") << rate + "}"
                                                    << "s d 0 1000"
                                                    << "";
    QTest::addRow("rate: exactly the threshold is fine") << rate + "}"
                                                         << "s d 0 10; s d 1000 10.5"
                                                         << "";
    QTest::addRow("rate: faster raises, slower clears")
        << rate + "}"
        << "s d 0 10; s d 1000 10.5; s d 2000 11.1; s d 3000 11.2"
        << "raised d@2000;cleared d@3000";
    QTest::addRow("rate: per second over the sample gap") << rate + "}"
                                                          << "s d 0 10; s d 100 10.06"
                                                          << "raised d@100";
    QTest::addRow("rate: out-of-order samples are skipped") << rate + "}"
                                                            << "s d 1000 10; s d 500 0; s d 2000 10.4"
                                                            << "";
    QTest::addRow("rate_below: falling fast")
        << R"({"name":"r","kind":"metric","metric":"v","condition":"rate_below","threshold":-1,"clear":-0.5})"
        << "s d 0 10; s d 1000 8; s d 2000 7.3; s d 3000 6.9"
        << "raised d@1000;cleared d@3000";

    const QString glob =
        R"({"name":"r","kind":"metric","devices":"pump-?1*","metric":"v","condition":"above","threshold":0)";
    QTest::addRow("glob: ? and *")
        << glob + "}"
        << "s pump-a1 1 1; s pump-11x 2 1; s pump-1 3 1; s tank-a1 4 1; s pump-ab1 5 1"
        << "raised pump-a1@1;raised pump-11x@2";
    QTest::addRow("glob: literal") << R"({"name":"r","kind":"metric","devices":"pump-7","metric":"v",
                                          "condition":"above","threshold":0})"
                                   << "s pump-7 1 1; s pump-77 2 1"
                                   << "raised pump-7@1";
    QTest::addRow("glob: star in the middle") << R"({"name":"r","kind":"metric","devices":"a*z","metric":"v",
                                                     "condition":"above","threshold":0})"
                                              << "s az 1 1; s abcz 2 1; s azx 3 1; s zaz 4 1"
                                              << "raised az@1;raised abcz@2";
    QTest::addRow("glob: a set and a negated set")
        << R"({"name":"r","kind":"metric","devices":"pump-[1-3][!a-m]","metric":"v",
               "condition":"above","threshold":0})"
        << "s pump-1x 1 1; s pump-4x 2 1; s pump-2b 3 1; s pump-3z 4 1; s pump-1 5 1"
        << "raised pump-1x@1;raised pump-3z@4";
    QTest::addRow("other metrics are not evaluated") << above + "}"
                                                     << "s d 1000 99 w"
                                                     << "";

    const QString stale = R"({"name":"r","kind":"stale","devices":"s*","silence_ms":1000})";
    QTest::addRow("stale: just before the silence") << stale << "s s1 0 1; t 999"
                                                    << "";
    QTest::addRow("stale: at the silence raises once, a sample clears")
        << stale << "s s1 0 1; t 1000; t 1500; s s1 2000 1; t 2500"
        << "raised s1@1000;cleared s1@2000";
    QTest::addRow("stale: only matching devices") << stale << "s s1 0 1; s x1 0 1; t 1000"
                                                  << "raised s1@1000";
    QTest::addRow("stale: again after a new silence") << stale << "s s1 0 1; t 1000; s s1 1100 1; t 2100"
                                                      << "raised s1@1000;cleared s1@1100;raised s1@2100";

    const QString sq = R"({"name":"r","kind":"gateway","signal":"store_queue","threshold":100,"hold_ms":200)";
    QTest::addRow("gateway: store queue with hold")
        << sq + "}"
        << "g 0 store_queue=101; g 100 store_queue=101; g 200 store_queue=101; g 300 store_queue=100"
        << "raised gateway@200;cleared gateway@300";
    QTest::addRow("gateway: equal is fine") << sq + "}"
                                            << "g 0 store_queue=100; g 500 store_queue=100"
                                            << "";
    QTest::addRow("gateway: hysteresis")
        << sq + R"(,"clear":50})"
        << "g 0 store_queue=200; g 200 store_queue=200; g 300 store_queue=60; "
           "g 400 store_queue=50"
        << "raised gateway@200;cleared gateway@400";
    QTest::addRow("gateway: 4xx rate over the last second")
        << R"({"name":"r","kind":"gateway","signal":"http_4xx_rate","threshold":5})"
        << "g 0 c4xx=0; g 500 c4xx=10; g 1000 c4xx=10; g 1500 c4xx=10"
        << "raised gateway@500;cleared gateway@1500";
    QTest::addRow("gateway: one 4xx is not 10 per second")
        << R"({"name":"r","kind":"gateway","signal":"http_4xx_rate","threshold":5})"
        << "g 0 c4xx=0; g 100 c4xx=0; g 200 c4xx=1; g 300 c4xx=1"
        << "";
    QTest::addRow("gateway: 5xx rate")
        << R"({"name":"r","kind":"gateway","signal":"http_5xx_rate","threshold":0})"
        << "g 0 c5xx=3; g 100 c5xx=4"
        << "raised gateway@100";
    QTest::addRow("gateway: listen drops rising")
        << R"({"name":"r","kind":"gateway","signal":"listen_drops_rate","threshold":0})"
        << "g 0 drops=100; g 100 drops=100; g 200 drops=101; g 1300 drops=101"
        << "raised gateway@200;cleared gateway@1300";
    QTest::addRow("gateway: listen drops unavailable never fire")
        << R"({"name":"r","kind":"gateway","signal":"listen_drops_rate","threshold":0})"
        << "g 0 drops=-1; g 100 drops=-1"
        << "";
    QTest::addRow("gateway: listen queue share")
        << R"({"name":"r","kind":"gateway","signal":"listen_queue_share","threshold":0.5})"
        << "g 0 lq=2 lql=4; g 100 lq=3 lql=4; g 200 lq=0 lql=4"
        << "raised gateway@100;cleared gateway@200";
    QTest::addRow("gateway: ready queue")
        << R"({"name":"r","kind":"gateway","signal":"ready_queue","threshold":8})"
        << "g 0 ready=8; g 100 ready=9"
        << "raised gateway@100";
    QTest::addRow("gateway: connections near the ceiling")
        << R"({"name":"r","kind":"gateway","signal":"connections_share","threshold":0.9})"
        << "g 0 open=90 ceil=100; g 100 open=91 ceil=100"
        << "raised gateway@100";
}

void TestAlerts::semantics()
{
    QFETCH(QString, rule);
    QFETCH(QString, script);
    QFETCH(QString, expected);
    const alerts::Rule r = parse_one(rule);
    QVERIFY2(!r.name.empty(), "the rule in the table does not parse");
    QCOMPARE(run_script(r, script), expected);
}

void TestAlerts::validation_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("expected"); // empty: valid; else a fragment of the error

    QTest::addRow("minimal metric")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"above","threshold":1})"
        << "";
    QTest::addRow("no name") << R"({"kind":"stale"})"
                             << "name: required";
    QTest::addRow("bad name") << R"({"name":"a b","kind":"stale"})"
                              << "name: expected 1 to 64";
    QTest::addRow("unknown kind") << R"({"name":"a","kind":"magic"})"
                                  << "kind: expected one of metric, stale, gateway";
    QTest::addRow("unknown field") << R"({"name":"a","kind":"stale","silense_ms":5})"
                                   << "unknown field 'silense_ms'";
    QTest::addRow("bad severity") << R"({"name":"a","kind":"stale","severity":"huge"})"
                                  << "severity: expected one of info, warning, critical";
    QTest::addRow("bad glob") << R"({"name":"a","kind":"stale","devices":"pump/1"})"
                              << "devices: expected a glob";
    QTest::addRow("unclosed set") << R"({"name":"a","kind":"stale","devices":"pump-[1-3"})"
                                  << "devices: expected a glob";
    QTest::addRow("empty set") << R"({"name":"a","kind":"stale","devices":"pump-[]"})"
                               << "devices: expected a glob";
    QTest::addRow("metric missing") << R"({"name":"a","kind":"metric","condition":"above","threshold":1})"
                                    << "metric: required";
    QTest::addRow("threshold missing") << R"({"name":"a","kind":"metric","metric":"v","condition":"above"})"
                                       << "threshold: required";
    QTest::addRow("threshold text")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"above","threshold":"80"})"
        << "threshold: expected a number";
    QTest::addRow("bad condition")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"over","threshold":1})"
        << "condition: expected one of above, below, outside, rate_above, rate_below";
    QTest::addRow("above clear on the bad side")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"above","threshold":80,"clear":81})"
        << "clear: expected a finite number <= threshold 80";
    QTest::addRow("below clear on the bad side")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"below","threshold":10,"clear":9})"
        << "clear: expected a finite number >= threshold 10";
    QTest::addRow("outside low > high")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"outside","low":3,"high":1})"
        << "low <= high";
    QTest::addRow("outside clear band outside")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"outside","low":1,"high":3,"clear_low":0.5})"
        << "clear_low, clear_high: expected a band inside [low, high]";
    QTest::addRow("outside needs low")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"outside","high":3})"
        << "low: required";
    QTest::addRow("negative hold")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"above","threshold":1,"hold_ms":-5})"
        << "hold_ms: expected 0 to";
    QTest::addRow("fractional hold")
        << R"({"name":"a","kind":"metric","metric":"v","condition":"above","threshold":1,"hold_ms":1.5})"
        << "hold_ms: expected an integer number of milliseconds";
    QTest::addRow("stale zero silence") << R"({"name":"a","kind":"stale","silence_ms":0})"
                                        << "silence_ms: expected 1 to";
    QTest::addRow("gateway bad signal") << R"({"name":"a","kind":"gateway","signal":"cpu","threshold":1})"
                                        << "signal: expected one of listen_queue_share";
    QTest::addRow("gateway share over 1")
        << R"({"name":"a","kind":"gateway","signal":"connections_share","threshold":1.5})"
        << "from 0 to 1";
    QTest::addRow("gateway negative")
        << R"({"name":"a","kind":"gateway","signal":"store_queue","threshold":-1})"
        << "threshold: expected a finite number >= 0";
    QTest::addRow("gateway clear above threshold")
        << R"({"name":"a","kind":"gateway","signal":"store_queue","threshold":10,"clear":20})"
        << "clear: expected a number from 0 to threshold 10";
    QTest::addRow("duplicate names") << R"({"name":"a","kind":"stale"},{"name":"a","kind":"stale"})"
                                     << "name used twice";
    QTest::addRow("not an object") << R"(42)"
                                   << "rule 0: expected an object";
}

void TestAlerts::validation()
{
    QFETCH(QString, json);
    QFETCH(QString, expected);
    const auto r = alerts::parse_rules(("{\"rules\":[" + json + "]}").toStdString());
    if (expected.isEmpty()) {
        QVERIFY2(r.ok(), r.error().c_str());
        QVERIFY(!r->empty());
    } else {
        QVERIFY2(!r.ok(), "expected an error");
        QVERIFY2(QString::fromStdString(r.error()).contains(expected), r.error().c_str());
    }
}

void TestAlerts::rulesFileRoundTrip()
{
    std::vector<alerts::Rule> rules(4);
    rules[0].name = "hot";
    rules[0].metric = "temp_c";
    rules[0].threshold = 80;
    rules[0].clear = 75.5;
    rules[0].hold = Millis(5000);
    rules[0].severity = alerts::Severity::critical;
    rules[0].devices = "pump-*";
    rules[1].name = "band";
    rules[1].metric = "bar";
    rules[1].condition = alerts::Condition::outside;
    rules[1].low = 1;
    rules[1].high = 3.25;
    rules[1].clear_low = 1.5;
    rules[2].name = "silent";
    rules[2].kind = alerts::RuleKind::stale;
    rules[2].silence = Millis(120'000);
    rules[2].severity = alerts::Severity::info;
    rules[3].name = "drops";
    rules[3].kind = alerts::RuleKind::gateway;
    rules[3].signal = alerts::Signal::listen_drops_rate;
    rules[3].threshold = 0;
    QVERIFY(alerts::validate(rules).ok());

    QTemporaryDir dir;
    const std::string path = dir.filePath("sub/alerts.json").toStdString();
    QCOMPARE(QString::fromStdString(alerts::save_rules(path, rules).error()), QString());
    const auto back = alerts::load_rules(path);
    QVERIFY2(back.ok(), back.error().c_str());
    QCOMPARE(back->size(), rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i)
        QVERIFY2((*back)[i] == rules[i], rules[i].name.c_str());
    // Integral values are written as integers, fit for hand editing.
    QVERIFY(alerts::rules_json(rules).find("\"threshold\":80,") != std::string::npos);
}

void TestAlerts::missingFileIsNoRules()
{
    QTemporaryDir dir;
    const auto r = alerts::load_rules(dir.filePath("none.json").toStdString());
    QVERIFY(r.ok());
    QVERIFY(r->empty());

    const std::string bad = dir.filePath("bad.json").toStdString();
    std::ofstream(bad) << "{\"rules\": [ {\"name\": 1} ]";
    const auto b = alerts::load_rules(bad);
    QVERIFY(!b.ok());
    QVERIFY2(b.error().find(bad) != std::string::npos, b.error().c_str());

    Settings s;
    s.alert_rules = "/x/y.json";
    QCOMPARE(QString::fromStdString(alerts::rules_path(s)), QString("/x/y.json"));
    s.alert_rules.clear();
    QVERIFY(QString::fromStdString(alerts::rules_path(s)).endsWith("fleetscope/alerts.json"));
}

void TestAlerts::saveRefusesInvalidRules()
{
    QTemporaryDir dir;
    std::vector<alerts::Rule> rules(1);
    rules[0].name = "bad name";
    const std::string path = dir.filePath("a.json").toStdString();
    QVERIFY(!alerts::save_rules(path, rules).ok());
    QVERIFY(!std::filesystem::exists(path));
}

namespace {
alerts::Rule above(std::string name, double threshold, alerts::Severity sev = alerts::Severity::warning)
{
    alerts::Rule r;
    r.name = std::move(name);
    r.metric = "v";
    r.threshold = threshold;
    r.severity = sev;
    return r;
}
void post(alerts::Engine& e, const std::string& device, std::int64_t ts, double v)
{
    telemetry::Sample s{device, ts, {{"v", v}}};
    e.on_samples(std::span(&s, 1), ts);
}
} // namespace

void TestAlerts::acknowledge()
{
    alerts::Engine e;
    QVERIFY(e.set_rules({above("r", 10)}, 0).ok());
    post(e, "d", 1000, 11);
    auto active = e.active();
    QCOMPARE(active.size(), std::size_t{1});
    const auto id = active[0].id;
    QCOMPARE(e.acknowledge(id, 1500), alerts::AckResult::acked);
    QCOMPARE(e.acknowledge(id, 1600), alerts::AckResult::already_acked);
    QCOMPARE(e.acknowledge(id + 1, 1600), alerts::AckResult::not_found);
    QCOMPARE(e.active()[0].acked_at.value_or(0), std::int64_t{1500});
    QVERIFY(e.active()[0].active);
    // Acknowledged alerts still clear, and keep their acknowledgement in the history.
    post(e, "d", 2000, 9);
    QVERIFY(e.active().empty());
    QCOMPARE(e.recent().size(), std::size_t{1});
    QCOMPARE(e.recent()[0].acked_at.value_or(0), std::int64_t{1500});
    QCOMPARE(e.recent()[0].cleared_at.value_or(0), std::int64_t{2000});
    QVERIFY(!e.recent()[0].active);
    // A cleared alert can still be acknowledged.
    post(e, "d", 3000, 11);
    post(e, "d", 4000, 9);
    QCOMPARE(e.acknowledge(e.recent()[0].id, 4100), alerts::AckResult::acked);
}

void TestAlerts::recentIsBoundedAndNewestFirst()
{
    alerts::Engine e(alerts::Engine::Options{0, 3, {}});
    QVERIFY(e.set_rules({above("r", 10)}, 0).ok());
    for (int i = 0; i < 5; ++i) {
        post(e, "d" + std::to_string(i), 1000 + i * 10, 11);
        post(e, "d" + std::to_string(i), 1005 + i * 10, 1);
    }
    const auto recent = e.recent();
    QCOMPARE(recent.size(), std::size_t{3});
    QCOMPARE(QString::fromStdString(recent[0].subject), QString("d4"));
    QCOMPARE(QString::fromStdString(recent[2].subject), QString("d2"));
    QCOMPARE(e.recent(1).size(), std::size_t{1});
}

void TestAlerts::feedsAndCounts()
{
    alerts::Engine e;
    auto feed = e.subscribe(2);
    QVERIFY(e.set_rules({above("w", 10), above("c", 20, alerts::Severity::critical)}, 0).ok());
    post(e, "a", 1000, 25); // raises both
    QCOMPARE(e.active_counts()[static_cast<int>(alerts::Severity::warning)], std::uint64_t{1});
    QCOMPARE(e.active_counts()[static_cast<int>(alerts::Severity::critical)], std::uint64_t{1});
    QCOMPARE(e.active_counts()[static_cast<int>(alerts::Severity::info)], std::uint64_t{0});
    post(e, "a", 2000, 15); // clears the critical one; the feed (capacity 2) is full: dropped, counted
    QCOMPARE(e.active_counts()[static_cast<int>(alerts::Severity::critical)], std::uint64_t{0});
    QCOMPARE(feed->dropped(), std::uint64_t{1});
    AlertEvent ev;
    QVERIFY(feed->pop(ev));
    QCOMPARE(ev.kind, AlertEvent::Kind::raised);
    QVERIFY(feed->pop(ev));
    QVERIFY(!feed->pop(ev));
    const auto text = alerts::prometheus_text(e.active_counts());
    QVERIFY(text.find("fleetscope_alerts_active{severity=\"warning\"} 1\n") != std::string::npos);
    QVERIFY(text.find("fleetscope_alerts_active{severity=\"critical\"} 0\n") != std::string::npos);
    QVERIFY(text.find("# TYPE fleetscope_alerts_active gauge") != std::string::npos);
    feed.reset();
    post(e, "a", 3000, 5); // a released feed is pruned, not pushed to
}

void TestAlerts::liveRuleChangesKeepUnchangedAlerts()
{
    std::vector<AlertEvent> events;
    alerts::Engine e(alerts::Engine::Options{
        0, 100, [&](std::span<const AlertEvent> ev) { events.insert(events.end(), ev.begin(), ev.end()); }});
    QVERIFY(e.set_rules({above("keep", 10), above("change", 10), above("drop", 10)}, 0).ok());
    post(e, "d", 1000, 11);
    QCOMPARE(e.active().size(), std::size_t{3});
    events.clear();
    // An invalid set is refused and changes nothing.
    QVERIFY(!e.set_rules({above("x y", 1)}, 1500).ok());
    QCOMPARE(e.active().size(), std::size_t{3});
    QVERIFY(e.set_rules({above("change", 12), above("keep", 10)}, 2000).ok());
    const auto active = e.active();
    QCOMPARE(active.size(), std::size_t{1});
    QCOMPARE(QString::fromStdString(active[0].rule), QString("keep"));
    QCOMPARE(events.size(), std::size_t{2});
    for (auto& ev : events) {
        QCOMPARE(ev.kind, AlertEvent::Kind::cleared);
        QCOMPARE(ev.alert.cleared_at.value_or(0), std::int64_t{2000});
    }
    // The kept rule's state survived: it clears as usual; the changed rule evaluates afresh.
    post(e, "d", 3000, 11.5);
    QCOMPARE(e.active().size(), std::size_t{1});
    post(e, "d", 4000, 13);
    QCOMPARE(e.active().size(), std::size_t{2});
    QCOMPARE(e.rules().size(), std::size_t{2});
}

void TestAlerts::idsCarryTheSession()
{
    alerts::Engine e;
    e.set_session(7);
    QVERIFY(e.set_rules({above("r", 0)}, 0).ok());
    post(e, "a", 1, 1);
    post(e, "b", 2, 1);
    const auto a = e.active();
    QCOMPARE(a.size(), std::size_t{2});
    QCOMPARE(a[0].id, (std::int64_t{7} << 32) | 1);
    QCOMPARE(a[1].id, (std::int64_t{7} << 32) | 2);
}

void TestAlerts::staleRulesAddedLaterSeeKnownDevices()
{
    alerts::Engine e;
    post(e, "a", 1000, 1); // no rules yet: the device is still remembered
    alerts::Rule r;
    r.name = "s";
    r.kind = alerts::RuleKind::stale;
    r.silence = Millis(500);
    QVERIFY(e.set_rules({r}, 1200).ok());
    metrics::Snapshot snap;
    snap.at_ms = 1600;
    e.on_snapshot(snap);
    QCOMPARE(e.active().size(), std::size_t{1});
    QCOMPARE(QString::fromStdString(e.active()[0].message), QString("no sample for 600 ms (silence 500 ms)"));
    // Removing the rule clears its alert, and the device's later sample has nothing to clear.
    QVERIFY(e.set_rules({}, 1700).ok());
    QVERIFY(e.active().empty());
    post(e, "a", 1800, 1);
    QCOMPARE(e.recent().size(), std::size_t{1});
}

void TestAlerts::logLineAndJson()
{
    AlertEvent ev;
    ev.kind = AlertEvent::Kind::raised;
    ev.alert.id = 42;
    ev.alert.rule = "hot";
    ev.alert.subject = "pump-1";
    ev.alert.severity = alerts::Severity::critical;
    ev.alert.raised_at = 1732630000123;
    ev.alert.message = "temp_c = 85, above 80";
    QCOMPARE(QString::fromStdString(alerts::log_line(ev)),
             QString("2024-11-26T14:06:40.123Z alert raised critical rule=hot subject=pump-1 id=42: "
                     "temp_c = 85, above 80"));
    const auto o = alerts::to_json(ev.alert);
    QCOMPARE(o.at("id").as_int64(), std::int64_t{42});
    QVERIFY(o.at("cleared_at").is_null());
    QCOMPARE(std::string(o.at("severity").as_string()), std::string("critical"));
    QVERIFY(o.at("active").as_bool());
}

QTEST_GUILESS_MAIN(TestAlerts)
#include "test_alerts.moc"
