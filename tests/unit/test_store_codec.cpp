// SPDX-License-Identifier: GPL-3.0-or-later
// The SQLite backend's encodings: the recent file's batches (core/store/sqlite/batch.hpp) and the main
// file's chunks (chunk.hpp). What goes in comes out bit for bit, in order; a batch or a chunk cut short
// anywhere, or with bytes past its end, is refused with an error rather than read as something else.
#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/chunk.hpp"
#include "core/store/types.hpp"

#include <QTest>

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace fleetscope;
using store::sqlite::BatchDecoder;
using store::sqlite::BatchEncoder;
using store::sqlite::ChunkDecoder;
using store::sqlite::ChunkEncoder;

namespace {

struct Sample {
    std::int64_t device;
    std::int64_t ts;
    std::vector<std::pair<std::int64_t, double>> readings;
};

struct Batch {
    std::vector<std::pair<std::int64_t, std::string>> devices;
    std::vector<std::pair<std::int64_t, std::string>> metrics;
    std::vector<Sample> samples;
};

std::string encode(BatchEncoder& e, const Batch& b)
{
    e.clear();
    for (const auto& [id, name] : b.devices)
        e.new_device(id, name);
    for (const auto& [id, name] : b.metrics)
        e.new_metric(id, name);
    for (const Sample& s : b.samples) {
        e.sample(s.device, s.ts, s.readings.size());
        for (const auto& [metric, value] : s.readings)
            e.reading(metric, value);
    }
    return std::string(e.finish());
}

Batch decode(std::string_view bytes)
{
    Batch b;
    BatchDecoder d(bytes, "test");
    std::int64_t id;
    std::string_view name;
    while (d.next_device(id, name))
        b.devices.emplace_back(id, std::string(name));
    while (d.next_metric(id, name))
        b.metrics.emplace_back(id, std::string(name));
    Sample s;
    std::size_t n;
    while (d.next_sample(s.device, s.ts, n)) {
        s.readings.clear();
        for (std::size_t i = 0; i < n; ++i) {
            std::pair<std::int64_t, double> r;
            d.next_reading(r.first, r.second);
            s.readings.push_back(r);
        }
        b.samples.push_back(s);
    }
    return b;
}

bool same(const Batch& a, const Batch& b)
{
    if (a.devices != b.devices || a.metrics != b.metrics || a.samples.size() != b.samples.size())
        return false;
    for (std::size_t i = 0; i < a.samples.size(); ++i) {
        const Sample& x = a.samples[i];
        const Sample& y = b.samples[i];
        if (x.device != y.device || x.ts != y.ts || x.readings.size() != y.readings.size())
            return false;
        for (std::size_t k = 0; k < x.readings.size(); ++k) {
            if (x.readings[k].first != y.readings[k].first ||
                std::bit_cast<std::uint64_t>(x.readings[k].second) !=
                    std::bit_cast<std::uint64_t>(y.readings[k].second))
                return false;
        }
    }
    return true;
}

constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
constexpr auto kMax = std::numeric_limits<std::int64_t>::max();

} // namespace

using Readings = std::vector<std::pair<std::int64_t, double>>;

Q_DECLARE_METATYPE(Batch)
Q_DECLARE_METATYPE(Readings)

class TestStoreCodec : public QObject {
    Q_OBJECT

private slots:
    void roundTrip_data()
    {
        QTest::addColumn<Batch>("batch");
        QTest::addRow("empty") << Batch{};
        QTest::addRow("names only") << Batch{{{1, "pump-1"}, {300, "valve:2"}}, {{7, "temp_c"}}, {}};
        QTest::addRow("one sample") << Batch{{{1, "d"}}, {{1, "m"}}, {{1, 1'732'630'000'123, {{1, 21.5}}}}};
        QTest::addRow("ts far apart and backwards") << Batch{
            {}, {}, {{1, kMax, {{1, 1}}}, {2, kMin, {{1, 2}}}, {3, 0, {}}, {3, -5, {{2, 3}}}, {1, kMax, {}}}};
        QTest::addRow("awkward values") << Batch{
            {}, {}, {{9, 1, {{1, -0.0}, {2, 1e-300}, {3, 4.9e-324}, {4, 1e308}, {5, -67}, {6, 0.1}}}}};
        QTest::addRow("large ids") << Batch{
            {{kMax, "x"}}, {{std::int64_t(1) << 40, "y"}}, {{kMax, 7, {{std::int64_t(1) << 40, 1}}}}};
        Batch many;
        for (int i = 0; i < 2000; ++i) {
            Sample s{i % 37, 1'700'000'000'000 + i * 1000 - (i % 3) * 7, {}};
            for (int m = 0; m < i % 5; ++m)
                s.readings.emplace_back(m + 1, i * 0.25 - m);
            many.samples.push_back(s);
        }
        QTest::addRow("2000 samples") << many;
    }
    void roundTrip()
    {
        QFETCH(Batch, batch);
        BatchEncoder e;
        const std::string bytes = encode(e, batch);
        QVERIFY(same(decode(bytes), batch));
        // The encoder starts over after clear(): a second batch does not carry the first one's state.
        QVERIFY(same(decode(encode(e, batch)), batch));
    }

    // Samples can be read without the names, and readings skipped: the decoder skips what is not asked for.
    void skipsWhatIsNotRead()
    {
        BatchEncoder e;
        const std::string bytes = encode(
            e, Batch{{{1, "a"}, {2, "b"}}, {{1, "m"}}, {{1, 10, {{1, 1}, {1, 2}}}, {2, 20, {{1, 3}}}}});
        BatchDecoder d(bytes, "test");
        std::int64_t device;
        std::int64_t ts;
        std::size_t n;
        QVERIFY(d.next_sample(device, ts, n));
        QCOMPARE(device, std::int64_t(1));
        QCOMPARE(n, std::size_t(2));
        QVERIFY(d.next_sample(device, ts, n));
        QCOMPARE(ts, std::int64_t(20));
        std::int64_t metric;
        double value;
        d.next_reading(metric, value);
        QCOMPARE(value, 3.0);
        QVERIFY(!d.next_sample(device, ts, n));
    }

    // Every proper prefix of a batch is refused, and so is a batch with bytes after its end: none decodes as
    // another, valid batch.
    void damagedBatchesAreRefused()
    {
        BatchEncoder e;
        const std::string bytes = encode(e, Batch{{{1, "pump"}},
                                                  {{1, "temp_c"}, {2, "rssi"}},
                                                  {{1, 5, {{1, 21.5}, {2, -60}}}, {1, 6, {{1, 22}}}}});
        std::vector<std::string> damaged;
        for (std::size_t len = 0; len < bytes.size(); ++len)
            damaged.push_back(bytes.substr(0, len));
        damaged.push_back(bytes + '\x01');
        for (const std::string& d : damaged) {
            try {
                decode(d);
                QFAIL(qPrintable(
                    QStringLiteral("a batch of %1 bytes (of %2) decoded").arg(d.size()).arg(bytes.size())));
            } catch (const store::StoreError& e) {
                QVERIFY2(std::string(e.what()).find("test") != std::string::npos, e.what());
            }
        }
    }

    void chunkRoundTrip_data()
    {
        QTest::addColumn<Readings>("readings");
        using V = Readings;
        QTest::addRow("empty") << V{};
        QTest::addRow("one") << V{{1'732'630'000'123, 21.5}};
        QTest::addRow("repeats") << V{{5, 1}, {5, 2}, {5, -0.0}, {6, 1e-300}};
        QTest::addRow("extremes") << V{{kMin, 1}, {-1, 2}, {0, 3}, {kMax, 4.9e-324}};
        V many;
        for (int i = 0; i < 1024; ++i)
            many.emplace_back(1'700'000'000'000 + i * 64, i * 0.1);
        QTest::addRow("a full chunk") << many;
    }
    void chunkRoundTrip()
    {
        QFETCH(Readings, readings);
        ChunkEncoder e;
        for (int twice = 0; twice < 2; ++twice) {
            e.clear();
            for (const auto& [ts, v] : readings)
                e.add(ts, v);
            QCOMPARE(e.readings(), readings.size());
            if (!readings.empty()) {
                QCOMPARE(e.first_ts(), readings.front().first);
                QCOMPARE(e.last_ts(), readings.back().first);
            }
            ChunkDecoder d(e.bytes(), std::int64_t(readings.size()), "test");
            std::int64_t ts;
            double v;
            for (const auto& [want_ts, want_v] : readings) {
                QVERIFY(d.next(ts, v));
                QCOMPARE(ts, want_ts);
                QCOMPARE(std::bit_cast<std::uint64_t>(v), std::bit_cast<std::uint64_t>(want_v));
            }
            QVERIFY(!d.next(ts, v));
        }
    }

    // A chunk read with another count than it holds, or cut short, is refused.
    void damagedChunksAreRefused()
    {
        ChunkEncoder e;
        for (int i = 0; i < 5; ++i)
            e.add(1000 + i * 3, i);
        const std::string bytes(e.bytes());
        auto decode_all = [](std::string_view b, std::int64_t n) {
            ChunkDecoder d(b, n, "test");
            std::int64_t ts;
            double v;
            while (d.next(ts, v)) {
            }
        };
        for (std::size_t len = 0; len < bytes.size(); ++len)
            QVERIFY_THROWS_EXCEPTION(store::StoreError,
                                     decode_all(std::string_view(bytes).substr(0, len), 5));
        QVERIFY_THROWS_EXCEPTION(store::StoreError, decode_all(bytes, 4));
        QVERIFY_THROWS_EXCEPTION(store::StoreError, decode_all(bytes, 6));
        QVERIFY_THROWS_EXCEPTION(store::StoreError, decode_all(bytes, -1));
        decode_all(bytes, 5);
    }

    void otherFormatsAreRefused()
    {
        for (const std::string bytes :
             {std::string(), std::string("\x02\x00\x00", 3), std::string("\x00", 1)}) {
            try {
                BatchDecoder d(bytes, "test");
                QFAIL("a batch of another format was read");
            } catch (const store::StoreError& e) {
                QVERIFY2(std::string(e.what()).find("format") != std::string::npos, e.what());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestStoreCodec)
#include "test_store_codec.moc"
