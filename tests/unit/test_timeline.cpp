// SPDX-License-Identifier: GPL-3.0-or-later
// The persisted metric timeline: which points a run of snapshots yields, and when.
#include "core/metrics/derived.hpp"
#include "core/store/timeline.hpp"

#include <QTest>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

using namespace fleetscope;

namespace {

metrics::Snapshot snap(std::int64_t at_ms, std::uint64_t accepted, std::uint64_t ok, std::uint64_t errors5xx,
                       double commit_p99)
{
    metrics::Snapshot s;
    s.at_ms = at_ms;
    s.uptime_ms = at_ms - 1'000'000;
    s.connections_open = 7;
    s.accepted_total = accepted;
    s.responses_by_class[2] = ok;
    s.responses_by_class[5] = errors5xx;
    s.commit_p99_ms = commit_p99;
    s.workers.resize(2);
    s.workers[1].ready_depth = 3;
    s.workers[0].idle_ns = static_cast<std::uint64_t>(at_ms) * 500'000; // idle half of the time
    return s;
}

std::map<std::string, double> by_name(const std::vector<store::TimelineRow>& rows)
{
    std::map<std::string, double> m;
    for (const auto& r : rows)
        m[r.series] = r.value;
    return m;
}

} // namespace

class TestTimeline : public QObject {
    Q_OBJECT

private slots:
    void pointsEveryInterval()
    {
        store::TimelineDeriver d(Millis(1'000));
        QVERIFY(d.push(snap(1'000'000, 0, 0, 0, 1.0)).empty()); // the baseline
        QVERIFY(d.push(snap(1'000'500, 100, 90, 0, 9.0)).empty());
        const auto rows = d.push(snap(1'001'000, 200, 180, 20, 2.0));
        QVERIFY(!rows.empty());
        for (const auto& r : rows)
            QCOMPARE(r.ts, std::int64_t(1'001'000));
        const auto m = by_name(rows);
        QCOMPARE(m.at("connections"), 7.0);
        QCOMPARE(m.at("accept_rate"), 200.0);
        QCOMPARE(m.at("responses_2xx_rate"), 180.0);
        QCOMPARE(m.at("responses_5xx_rate"), 20.0);
        QCOMPARE(m.at("requests_rate"), 200.0);
        QCOMPARE(m.at("commit_p99_ms"), 9.0); // the worst of the interval
        QCOMPARE(m.at("ready_depth.1"), 3.0);
        QCOMPARE(m.at("idle_pct.0"), 50.0);
        // Not measurable here (-1): no point rather than a made-up one.
        QVERIFY(!m.count("listen_queue") && !m.count("backlog_fill") && !m.count("listen_drops_rate"));
        // Every name is a documented series.
        for (const auto& point : m) {
            const std::string& name = point.first;
            const std::string base = name.substr(0, name.find('.'));
            const auto series = metrics::derived_from(base);
            QVERIFY2(series && metrics::info(*series).persisted &&
                         metrics::info(*series).per_worker == (base != name),
                     name.c_str());
        }
        // The next interval starts from this one.
        QVERIFY(d.push(snap(1'001'500, 300, 180, 20, 1.0)).empty());
        QCOMPARE(by_name(d.push(snap(1'002'000, 300, 180, 20, 1.0))).at("accept_rate"), 100.0);
    }

    void readmeListsEverySeries()
    {
        // The README's timeline table is checked against the one table of derived series.
        std::ifstream f(FLEETSCOPE_SOURCE_DIR "/README.md");
        QVERIFY2(f, "README.md not found");
        const std::string readme((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        metrics::for_each_derived([&](const metrics::DerivedInfo& s) {
            if (!s.persisted)
                return;
            const std::string name = "`" + std::string(s.name) + (s.per_worker ? ".N`" : "`");
            QVERIFY2(readme.find(name) != std::string::npos,
                     ("README lacks the timeline series " + name).c_str());
        });
    }

    void listenQueueWhenKnown()
    {
        store::TimelineDeriver d(Millis(100));
        auto a = snap(1'000'000, 0, 0, 0, 0);
        auto b = snap(1'000'100, 0, 0, 0, 0);
        for (auto* s : {&a, &b}) {
            s->listen_queue = 64;
            s->listen_queue_limit = 256;
            s->listen_drops = 10;
        }
        b.listen_drops = 12;
        QVERIFY(d.push(a).empty());
        const auto m = by_name(d.push(b));
        QCOMPARE(m.at("backlog_fill"), 0.25);
        QCOMPARE(m.at("listen_drops_rate"), 20.0);
    }

    void offAndRestart()
    {
        store::TimelineDeriver off(Millis(0));
        QVERIFY(off.push(snap(1'000'000, 0, 0, 0, 0)).empty());
        QVERIFY(off.push(snap(1'005'000, 0, 0, 0, 0)).empty());
        // A gateway restart (uptime going back) starts a new baseline instead of a negative rate.
        store::TimelineDeriver d(Millis(100));
        auto running = snap(1'000'000, 500, 0, 0, 0);
        running.uptime_ms = 10'000;
        QVERIFY(d.push(running).empty());
        auto restarted = snap(1'000'200, 10, 0, 0, 0);
        restarted.uptime_ms = 5;
        QVERIFY(d.push(restarted).empty());
        auto next = snap(1'000'300, 30, 0, 0, 0);
        next.uptime_ms = 105;
        QCOMPARE(by_name(d.push(next)).at("accept_rate"), 200.0);
    }
};

QTEST_GUILESS_MAIN(TestTimeline)
#include "test_timeline.moc"
