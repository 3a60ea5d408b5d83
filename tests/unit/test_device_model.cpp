// SPDX-License-Identifier: GPL-3.0-or-later
// The simulated fleet's readings over many generated samples: healthy devices within each metric's realistic
// range, with drift and noise; the share of misbehaving devices and what each fault looks like; and the same
// seed giving the same fleet.
#include "core/sim/device_model.hpp"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

using namespace fleetscope::sim;

namespace {

constexpr std::size_t kTemp = 0;
constexpr std::size_t kRssi = 1;
constexpr std::size_t kBattery = 2;
constexpr std::size_t kUptime = 4;

// `n` samples of every metric of one device: series[metric][sample], and whether it spoke at each sample.
struct Run {
    std::vector<std::vector<double>> series;
    std::vector<bool> spoke;
};

Run generate(std::uint64_t seed, std::size_t index, Fault fault, std::size_t metrics, double step_s,
             std::size_t n)
{
    DeviceModel m(seed, index, fault, metrics, step_s);
    Run r;
    r.series.assign(metrics, {});
    for (std::size_t k = 0; k < n; ++k) {
        r.spoke.push_back(m.advance());
        for (std::size_t i = 0; i < metrics; ++i)
            r.series[i].push_back(m.value(i));
    }
    return r;
}

double share_below(const std::vector<double>& v, double limit)
{
    return double(std::count_if(v.begin(), v.end(), [&](double x) { return x < limit; })) / double(v.size());
}

// The first index of a device with fault `f` in a fleet where every device misbehaves.
std::size_t device_with(Fault f, std::uint64_t seed = 1)
{
    for (std::size_t i = 0;; ++i)
        if (fault_of(seed, 1.0, i) == f)
            return i;
}

} // namespace

class TestDeviceModel : public QObject {
    Q_OBJECT

private slots:
    void metricNames()
    {
        QCOMPARE(metric_name(0), std::string("temp_c"));
        QCOMPARE(metric_name(1), std::string("rssi"));
        QCOMPARE(metric_name(2), std::string("battery_v"));
        QCOMPARE(metric_name(3), std::string("cpu_pct"));
        QCOMPARE(metric_name(4), std::string("uptime_s"));
        QCOMPARE(metric_name(std::size(kMetricSpecs)), "m" + std::to_string(std::size(kMetricSpecs)));
        QCOMPARE(metric_spec(200).high, kGenericSpec.high);
    }

    // The bar of the issue: battery 3.0-4.2 V, temperature 20-80 °C, RSSI -40 to -95 dBm, and every other
    // metric in its stated range, for healthy devices whatever the time step.
    void healthyDevicesStayInRange_data()
    {
        QTest::addColumn<double>("step");
        QTest::addRow("100 ms") << 0.1;
        QTest::addRow("1 s") << 1.0;
        QTest::addRow("1 min") << 60.0;
        QTest::addRow("10 min") << 600.0;
    }

    void healthyDevicesStayInRange()
    {
        QFETCH(double, step);
        constexpr std::size_t kMetrics = 12; // the named ones and five generic gauges
        QCOMPARE(kMetricSpecs[kTemp].low, 20.0);
        QCOMPARE(kMetricSpecs[kTemp].high, 80.0);
        QCOMPARE(kMetricSpecs[kRssi].low, -95.0);
        QCOMPARE(kMetricSpecs[kRssi].high, -40.0);
        QCOMPARE(kMetricSpecs[kBattery].low, 3.0);
        QCOMPARE(kMetricSpecs[kBattery].high, 4.2);
        std::uint64_t samples = 0;
        for (std::size_t d = 0; d < 300; ++d) {
            const Run r = generate(7, d, Fault::none, kMetrics, step, 1500);
            for (std::size_t i = 0; i < kMetrics; ++i) {
                const MetricSpec& spec = metric_spec(i);
                const double scale = std::pow(10.0, spec.decimals);
                for (double v : r.series[i]) {
                    if (v < spec.low || v > spec.high)
                        QFAIL(qPrintable(QStringLiteral("device %1 %2 = %3, outside %4..%5")
                                             .arg(d)
                                             .arg(QString::fromStdString(metric_name(i)))
                                             .arg(v)
                                             .arg(spec.low)
                                             .arg(spec.high)));
                    // Quantised to the sensor's resolution (integers for rssi and uptime_s).
                    QVERIFY(std::abs(v * scale - std::round(v * scale)) < 1e-6);
                }
                samples += r.series[i].size();
            }
            QVERIFY(std::all_of(r.spoke.begin(), r.spoke.end(), [](bool b) { return b; }));
        }
        QCOMPARE(samples, std::uint64_t{300} * 1500 * kMetrics);
    }

    // Each device has its own level, a slow drift and sensor noise: readings are neither constant, nor
    // white noise, nor the same from device to device.
    void readingsDriftAndVary()
    {
        std::vector<double> mean_temps;
        std::set<std::vector<double>> rssi_series;
        for (std::size_t d = 0; d < 100; ++d) {
            const Run r = generate(3, d, Fault::none, 4, 1.0, 600);
            const auto& temp = r.series[kTemp];
            std::set<double> distinct(temp.begin(), temp.end());
            QVERIFY2(distinct.size() > 10, "a temperature that never changes is no sensor");
            double max_step = 0;
            for (std::size_t k = 1; k < temp.size(); ++k)
                max_step = std::max(max_step, std::abs(temp[k] - temp[k - 1]));
            // Healthy: README's "heating-fast" rule (rate_above 0.5 °C/s) stays quiet.
            QVERIFY2(max_step <= 0.5, qPrintable(QString::number(max_step)));
            double sum = 0;
            for (double v : temp)
                sum += v;
            mean_temps.push_back(sum / double(temp.size()));
            rssi_series.insert(r.series[kRssi]);
        }
        const auto [lo, hi] = std::minmax_element(mean_temps.begin(), mean_temps.end());
        QVERIFY2(*hi - *lo > 10, "devices sit at different temperatures");
        QCOMPARE(rssi_series.size(), std::size_t{100});
    }

    // Batteries drain by a few hundredths of a volt an hour, never jump down, and are recharged before 3.0 V.
    void batteryDrainsSlowly()
    {
        std::size_t drained = 0;
        constexpr std::size_t kDevices = 200;
        for (std::size_t d = 0; d < kDevices; ++d) {
            const Run r = generate(11, d, Fault::none, 3, 600.0, 6 * 24); // a day, every 10 min
            const auto& v = r.series[kBattery];
            for (std::size_t k = 1; k < v.size(); ++k)
                QVERIFY2(
                    v[k - 1] - v[k] < 0.1,
                    qPrintable(QStringLiteral("device %1 fell %2 V in 10 min").arg(d).arg(v[k - 1] - v[k])));
            // Five hours on, most batteries read lower (those that were recharged meanwhile do not).
            if (v[30] < v[0] - 0.02)
                ++drained;
        }
        QVERIFY2(drained > kDevices * 6 / 10, qPrintable(QString::number(drained)));
    }

    void uptimeCountsUp()
    {
        const Run r = generate(5, 9, Fault::none, 5, 2.0, 100);
        const auto& up = r.series[kUptime];
        for (std::size_t k = 1; k < up.size(); ++k)
            QCOMPARE(up[k], up[k - 1] + 2);
    }

    void misbehavingShare_data()
    {
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<double>("faulty");
        QTest::addRow("seed 1, 5 %") << quint64{1} << 0.05;
        QTest::addRow("seed 2, 5 %") << quint64{2} << 0.05;
        QTest::addRow("seed 99, 20 %") << quint64{99} << 0.20;
    }

    void misbehavingShare()
    {
        QFETCH(quint64, seed);
        QFETCH(double, faulty);
        constexpr std::size_t kFleet = 20'000;
        std::map<Fault, std::size_t> kinds;
        for (std::size_t i = 0; i < kFleet; ++i)
            ++kinds[fault_of(seed, faulty, i)];
        const double expected = faulty * kFleet;
        const double bad = double(kFleet - kinds[Fault::none]);
        // Binomial spread: four standard deviations.
        const double sd = std::sqrt(kFleet * faulty * (1 - faulty));
        QVERIFY2(std::abs(bad - expected) < 4 * sd, qPrintable(QString::number(bad)));
        for (Fault f : kFaults) {
            const double per_kind = expected / double(kFaults.size());
            QVERIFY2(std::abs(double(kinds[f]) - per_kind) < 4 * std::sqrt(per_kind),
                     qPrintable(QStringLiteral("%1: %2").arg(to_string(f).data()).arg(kinds[f])));
        }
    }

    void shareExtremes()
    {
        for (std::size_t i = 0; i < 1000; ++i) {
            QCOMPARE(fault_of(1, 0.0, i), Fault::none);
            QVERIFY(fault_of(1, 1.0, i) != Fault::none);
        }
        // Another seed picks other devices.
        std::size_t same = 0;
        for (std::size_t i = 0; i < 1000; ++i)
            same += (fault_of(1, 0.5, i) == Fault::none) == (fault_of(2, 0.5, i) == Fault::none);
        QVERIFY2(same < 700, qPrintable(QString::number(same)));
    }

    // Ten minutes at one sample a second: every fault shows, and passes again, so alerts raise and clear.
    void overheating()
    {
        const std::size_t d = device_with(Fault::overheating);
        const Run r = generate(1, d, Fault::overheating, 4, 1.0, 600);
        const auto& t = r.series[kTemp];
        QVERIFY(*std::max_element(t.begin(), t.end()) > 85);
        QVERIFY(*std::max_element(t.begin(), t.end()) <= 125);
        QVERIFY(share_below(t, 80) > 0.2); // it cools down between episodes
        QVERIFY(share_below(t, 80) < 0.9);
    }

    void batteryDropout()
    {
        const std::size_t d = device_with(Fault::battery_dropout);
        const Run r = generate(1, d, Fault::battery_dropout, 5, 1.0, 600);
        const auto& v = r.series[kBattery];
        QVERIFY(share_below(v, 3.0) > 0.02);
        QVERIFY(share_below(v, 3.0) < 0.5);
        QVERIFY(*std::min_element(v.begin(), v.end()) >= 0);
        // Each brown-out reboots the device.
        const auto& up = r.series[kUptime];
        std::size_t resets = 0;
        for (std::size_t k = 1; k < up.size(); ++k)
            resets += up[k] < up[k - 1];
        QVERIFY2(resets >= 2, qPrintable(QString::number(resets)));
    }

    void silent()
    {
        const std::size_t d = device_with(Fault::silent);
        const Run r = generate(1, d, Fault::silent, 4, 1.0, 600);
        std::size_t longest = 0;
        std::size_t run = 0;
        std::size_t quiet = 0;
        for (bool spoke : r.spoke) {
            run = spoke ? 0 : run + 1;
            longest = std::max(longest, run);
            quiet += !spoke;
        }
        QVERIFY2(longest >= 20, qPrintable(QString::number(longest))); // long enough for a stale rule
        QVERIFY(quiet < r.spoke.size() / 2);
    }

    void noisyRssi()
    {
        const std::size_t d = device_with(Fault::noisy_rssi);
        const Run noisy = generate(1, d, Fault::noisy_rssi, 4, 1.0, 600);
        const Run calm = generate(1, d, Fault::none, 4, 1.0, 600);
        const auto spread = [](const std::vector<double>& v) {
            double s = 0;
            for (std::size_t k = 1; k < v.size(); ++k)
                s += std::abs(v[k] - v[k - 1]);
            return s / double(v.size() - 1);
        };
        QVERIFY(spread(noisy.series[kRssi]) > 4 * spread(calm.series[kRssi]));
        QVERIFY(share_below(noisy.series[kRssi], -95) > 0.05);
        for (double v : noisy.series[kRssi])
            QVERIFY(v >= -120 && v <= -30);
        // Only the RSSI misbehaves.
        QCOMPARE(noisy.series[kTemp], calm.series[kTemp]);
    }

    void deterministicPerSeed()
    {
        const Run a = generate(42, 17, fault_of(42, 0.3, 17), 8, 1.0, 300);
        const Run b = generate(42, 17, fault_of(42, 0.3, 17), 8, 1.0, 300);
        QCOMPARE(a.series, b.series);
        QCOMPARE(a.spoke, b.spoke);
        const Run other_seed = generate(43, 17, Fault::none, 8, 1.0, 300);
        QVERIFY(other_seed.series[kTemp] != generate(42, 17, Fault::none, 8, 1.0, 300).series[kTemp]);
        // How many metrics a sample carries does not change the readings of the first ones.
        const Run four = generate(42, 17, Fault::none, 4, 1.0, 300);
        const Run twelve = generate(42, 17, Fault::none, 12, 1.0, 300);
        for (std::size_t i = 0; i < 4; ++i)
            QCOMPARE(four.series[i], twelve.series[i]);
    }
};

QTEST_GUILESS_MAIN(TestDeviceModel)
#include "test_device_model.moc"
