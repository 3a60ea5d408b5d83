// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::sim {

/// A metric the simulated devices send, and the range a healthy device keeps it in. Samples carry these in
/// this order, as many as --metrics asks for; past the table they carry generic gauges `m<i>` in 0..100.
struct MetricSpec {
    std::string_view name;
    std::string_view unit;
    double low;   // a healthy device never reads below this...
    double high;  // ...nor above this
    int decimals; // the sensor's resolution; 0: sent as a JSON integer
};

inline constexpr MetricSpec kMetricSpecs[] = {
    {"temp_c", "°C", 20, 80, 1},           {"rssi", "dBm", -95, -40, 0}, {"battery_v", "V", 3.0, 4.2, 2},
    {"cpu_pct", "%", 0, 100, 1},           {"uptime_s", "s", 0, 1e9, 0}, {"humidity_pct", "%", 10, 90, 1},
    {"pressure_hpa", "hPa", 960, 1050, 1},
};
/// What generic gauges `m<i>` read.
inline constexpr MetricSpec kGenericSpec = {"m", "", 0, 100, 2};

/// The spec of a sample's `i`-th metric, and its name (`m<i>` past the table).
const MetricSpec& metric_spec(std::size_t i);
std::string metric_name(std::size_t i);

/// How a misbehaving device misbehaves. Each fault comes and goes in episodes, so alerts raise and clear.
enum class Fault {
    none,
    overheating,     // temp_c climbs to 88..100 °C for 40..90 s, then cools
    battery_dropout, // battery_v sags to 2.3..2.9 V for 8..25 s, and the brown-out reboots the device
    silent,          // stops posting for 20..60 s at a time (open loop only: closed and hold loops post on)
    noisy_rssi,      // rssi weaker and jittery, in frequent 8..28 dB fades, often below -95 dBm
};
inline constexpr std::array kFaults = {Fault::overheating, Fault::battery_dropout, Fault::silent,
                                       Fault::noisy_rssi};
std::string_view to_string(Fault f);

/// Which fault device `index` of a fleet has: a share `faulty` (0..1) of devices misbehave, the kinds in
/// equal parts, chosen by a hash of (seed, index), so the same seed picks the same devices in every run.
Fault fault_of(std::uint64_t seed, double faulty, std::size_t index);

/// The simulator's random numbers: splitmix64 rather than <random>, for eight bytes of state per stream
/// (mt19937_64 holds 2.5 KB, times 20,000 devices), and the same sequence on every platform (<random>'s
/// distributions differ between standard libraries, which would break "the same seed gives the same fleet").
/// Inline: it runs for every reading. Plain value type.
struct Random {
    std::uint64_t state;

    std::uint64_t next()
    {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; } // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Triangular in (-amplitude, amplitude), from the two halves of one draw.
    double noise(double amplitude) { return amplitude * pair_sum(); }
    // Mean 0, sd 1: a triangular variable scaled to unit variance, close enough to a normal for drift and
    // bounded at ±2.45 sd.
    double normal() { return pair_sum() * 2.449489742783178; }

private:
    // u1 + u2 - 1 for two uniforms of 32 bits each: plenty for noise, at half the draws.
    double pair_sum()
    {
        const std::uint64_t bits = next();
        return (static_cast<double>(bits >> 32) + static_cast<double>(bits & 0xFFFF'FFFFu)) * 0x1.0p-32 - 1;
    }
};

/// The readings of one simulated device, sample after sample: each metric has a per-device level, a slow
/// mean-reverting drift, sensor noise and the sensor's resolution; the battery drains along a Li-ion curve
/// and recharges; uptime counts up. The sequence is a function of (seed, index, fault, step) only, so a run
/// can be replayed. Plain value type, owned by one device coroutine.
class DeviceModel {
public:
    /// `metrics`: how many the samples carry; `step_s`: model seconds between two samples (the open loop's
    /// interval; back-to-back posting advances the model by the same step, as if the device kept its
    /// cadence).
    DeviceModel(std::uint64_t seed, std::size_t index, Fault fault, std::size_t metrics, double step_s);

    /// Moves to the next sample. Returns false while the device is silent (it has nothing to send).
    bool advance();

    double value(std::size_t i) const { return values_[i]; }
    bool integral(std::size_t i) const { return metric_spec(i).decimals == 0; }

private:
    // A mean-reverting random walk (Ornstein-Uhlenbeck) sampled every step: `decay` and `kick` are fixed by
    // the step, so a long step stays stable.
    struct Drift {
        double x = 0;
        double decay = 0;
        double kick = 0;
    };
    // A fault that comes and goes: active for `length` seconds of every `period`. `at` is the current
    // sample's place in the period, moved by addition rather than fmod because it is asked every sample.
    struct Episodes {
        double period = 1;
        double length = 0;
        double at = 0;
        bool advance(double dt);
    };

    Drift drift(Random& r, double sd, double tau_s) const;
    static double walk(Random& r, Drift& d)
    {
        d.x = d.x * d.decay + d.kick * r.normal();
        return d.x;
    }
    double reading(std::size_t i, bool episode);
    double quantise(std::size_t i, double v) const;

    // One random stream per named metric, one for the generic gauges and one for the fault: a metric's
    // readings do not depend on which others a sample carries, and a fault changes only its own metric.
    std::array<Random, std::size(kMetricSpecs)> rng_;
    Random generic_rng_;
    Random fault_rng_;
    Fault fault_;
    double step_;
    double t_ = -1; // before the first advance
    bool browned_out_ = false;

    double temp_base_, temp_swing_, temp_hot_, temp_heat_ = 0, heat_lag_;
    double swing_cos_, swing_sin_, turn_cos_, turn_sin_; // the swing's phase, turned by one step per sample
    Drift temp_drift_;
    double rssi_base_, rssi_noise_, rssi_fade_ = 0;
    Drift rssi_drift_;
    double charge_, drain_per_s_, charge_per_s_;
    bool charging_ = false;
    double cpu_base_, cpu_burst_ = 0, cpu_burst_decay_, cpu_burst_chance_;
    Drift cpu_drift_;
    double uptime_;
    double humidity_base_, pressure_base_;
    Drift humidity_drift_, pressure_drift_;
    std::vector<double> generic_base_;
    std::vector<Drift> generic_drift_;
    Episodes fault_episodes_;

    std::vector<double> values_;
};

} // namespace fleetscope::sim
