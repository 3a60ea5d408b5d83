// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/device_model.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace fleetscope::sim {

namespace {

std::uint64_t device_hash(std::uint64_t seed, std::size_t index, std::uint64_t salt)
{
    Random r{seed ^ salt};
    return Random{r.next() ^ static_cast<std::uint64_t>(index)}.next();
}

// Open-circuit voltage of a Li-ion cell against its state of charge: steep at both ends, a plateau between.
constexpr std::array<std::pair<double, double>, 9> kCellCurve = {{{0.00, 3.00},
                                                                  {0.05, 3.30},
                                                                  {0.10, 3.45},
                                                                  {0.20, 3.60},
                                                                  {0.40, 3.70},
                                                                  {0.60, 3.80},
                                                                  {0.80, 3.95},
                                                                  {0.90, 4.05},
                                                                  {1.00, 4.20}}};

double cell_volts(double charge)
{
    charge = std::clamp(charge, 0.0, 1.0);
    for (std::size_t i = 1; i < kCellCurve.size(); ++i) {
        const auto [c1, v1] = kCellCurve[i];
        if (charge <= c1) {
            const auto [c0, v0] = kCellCurve[i - 1];
            return v0 + (v1 - v0) * (charge - c0) / (c1 - c0);
        }
    }
    return kCellCurve.back().second;
}

constexpr std::size_t kNamed = std::size(kMetricSpecs);
enum Named : std::size_t { temp, rssi, battery, cpu, uptime, humidity, pressure };
static_assert(kMetricSpecs[temp].name == "temp_c" && kMetricSpecs[rssi].name == "rssi" &&
                  kMetricSpecs[battery].name == "battery_v" && kMetricSpecs[cpu].name == "cpu_pct" &&
                  kMetricSpecs[uptime].name == "uptime_s" && kMetricSpecs[humidity].name == "humidity_pct" &&
                  kMetricSpecs[pressure].name == "pressure_hpa",
              "Named follows kMetricSpecs");

// What a sensor can report at all, for the faulty devices that leave the healthy range.
constexpr double kTempSensorLow = -40;
constexpr double kTempSensorHigh = 125;
constexpr double kRssiFloor = -120;
constexpr double kRssiCeiling = -30;

// A healthy cell is recharged before it is this empty (about 3.3 V).
constexpr double kRechargeAt = 0.05;

} // namespace

const MetricSpec& metric_spec(std::size_t i)
{
    return i < kNamed ? kMetricSpecs[i] : kGenericSpec;
}

std::string metric_name(std::size_t i)
{
    return i < kNamed ? std::string(kMetricSpecs[i].name) : "m" + std::to_string(i);
}

std::string_view to_string(Fault f)
{
    switch (f) {
    case Fault::none:
        return "none";
    case Fault::overheating:
        return "overheating";
    case Fault::battery_dropout:
        return "battery-dropout";
    case Fault::silent:
        return "silent";
    case Fault::noisy_rssi:
        return "noisy-rssi";
    }
    return "?";
}

Fault fault_of(std::uint64_t seed, double faulty, std::size_t index)
{
    const double u = Random{device_hash(seed, index, 0xFA0175EEDull)}.uniform();
    if (!(u < faulty))
        return Fault::none;
    // u / faulty is uniform in [0, 1) among the faulty devices: equal parts per kind.
    const auto kind = static_cast<std::size_t>(u / faulty * static_cast<double>(kFaults.size()));
    return kFaults[std::min(kind, kFaults.size() - 1)];
}

bool DeviceModel::Episodes::advance(double dt)
{
    at += dt;
    if (at >= period)
        at = std::fmod(at, period);
    return at < length;
}

DeviceModel::DeviceModel(std::uint64_t seed, std::size_t index, Fault fault, std::size_t metrics,
                         double step_s)
    : generic_rng_{device_hash(seed, index, 0x6E4E41C5EEDull)}
    , fault_rng_{device_hash(seed, index, 0xE915D0E5EEDull)}
    , fault_(fault)
    , step_(step_s > 0 ? step_s : 1.0)
    , values_(metrics, 0.0)
{
    for (std::size_t i = 0; i < kNamed; ++i)
        rng_[i].state = device_hash(seed, index, 0xD3C1CE5EEDull + i);

    Random& t = rng_[temp];
    temp_base_ = t.uniform(32, 52);
    temp_swing_ = t.uniform(1, 5);
    const double period = t.uniform(600, 3600);
    const double phase = t.uniform(0, 2 * std::numbers::pi);
    swing_cos_ = std::cos(phase);
    swing_sin_ = std::sin(phase);
    turn_cos_ = std::cos(2 * std::numbers::pi * step_ / period);
    turn_sin_ = std::sin(2 * std::numbers::pi * step_ / period);
    temp_hot_ = t.uniform(88, 100);
    heat_lag_ = 1 - std::exp(-step_ / 15.0);
    temp_drift_ = drift(t, 2, 900);

    Random& r = rng_[rssi];
    rssi_base_ = r.uniform(-82, -55);
    rssi_noise_ = 2;
    rssi_drift_ = drift(r, 3, 120);
    if (fault_ == Fault::noisy_rssi) {
        // A poorly placed device with a loose antenna: weaker, jittery, and often in a deep fade.
        rssi_base_ = -88 + 16 * (rssi_base_ + 82) / 27;
        rssi_noise_ = 6;
        rssi_fade_ = 0.3;
    }

    Random& b = rng_[battery];
    charge_ = b.uniform(0.3, 1.0);
    drain_per_s_ = 1 / (b.uniform(8, 24) * 3600);
    charge_per_s_ = 1 / (2.0 * 3600);

    Random& c = rng_[cpu];
    cpu_base_ = c.uniform(4, 30);
    cpu_burst_decay_ = std::exp(-step_ / 8.0);
    cpu_burst_chance_ = 1 - std::exp(-step_ / 120.0); // a burst of work every two minutes or so
    cpu_drift_ = drift(c, 5, 30);

    uptime_ = std::round(rng_[uptime].uniform(600, 30 * 86'400));

    humidity_base_ = rng_[humidity].uniform(30, 65);
    humidity_drift_ = drift(rng_[humidity], 6, 900);
    pressure_base_ = rng_[pressure].uniform(990, 1025);
    pressure_drift_ = drift(rng_[pressure], 3, 3600);

    fault_episodes_.period = fault_rng_.uniform(90, 240);
    fault_episodes_.at = fault_rng_.uniform(0, fault_episodes_.period);
    const double length = fault_rng_.uniform();
    switch (fault_) {
    case Fault::overheating:
        fault_episodes_.length = 40 + 50 * length;
        break;
    case Fault::battery_dropout:
        fault_episodes_.length = 8 + 17 * length;
        break;
    case Fault::silent:
        fault_episodes_.length = 20 + 40 * length;
        break;
    case Fault::none:
    case Fault::noisy_rssi:
        break;
    }

    for (std::size_t i = kNamed; i < metrics; ++i) {
        generic_base_.push_back(generic_rng_.uniform(25, 75));
        generic_drift_.push_back(drift(generic_rng_, 8, 60));
    }
}

DeviceModel::Drift DeviceModel::drift(Random& r, double sd, double tau_s) const
{
    Drift d;
    d.decay = std::exp(-step_ / tau_s);
    d.kick = sd * std::sqrt(1 - d.decay * d.decay);
    d.x = sd * r.normal(); // start where the walk would be after a long time
    return d;
}

double DeviceModel::quantise(std::size_t i, double v) const
{
    static constexpr double kScale[] = {1, 10, 100, 1000};
    const double scale = kScale[std::clamp(metric_spec(i).decimals, 0, 3)];
    // Rounded half away from zero by truncation, inline where std::round is a libm call; readings are far
    // inside int64's range.
    const double x = v * scale;
    return static_cast<double>(static_cast<std::int64_t>(x + (x < 0 ? -0.5 : 0.5))) / scale;
}

bool DeviceModel::advance()
{
    const double dt = t_ < 0 ? 0 : step_;
    t_ = t_ < 0 ? 0 : t_ + step_;
    const bool episode = fault_ != Fault::none && fault_ != Fault::noisy_rssi && fault_episodes_.advance(dt);

    // What moves whether or not a sample carries it: the cell's charge, the clock, and the reboot that
    // ends a brown-out.
    if (charging_) {
        charge_ = std::min(1.0, charge_ + charge_per_s_ * step_);
        charging_ = charge_ < 1;
    } else {
        charge_ -= drain_per_s_ * step_;
        charging_ = charge_ <= kRechargeAt;
    }
    if (t_ > 0)
        uptime_ += step_;
    if (fault_ == Fault::battery_dropout) {
        if (episode) {
            browned_out_ = true;
        } else if (browned_out_) {
            uptime_ = 0; // the brown-out reset the device
            browned_out_ = false;
        }
    }

    for (std::size_t i = 0; i < values_.size(); ++i) {
        const MetricSpec& spec = metric_spec(i);
        // A healthy device stays in its spec; a faulty one only within what its sensor can report.
        double lo = spec.low;
        double hi = spec.high;
        if (i == temp && fault_ == Fault::overheating) {
            lo = kTempSensorLow;
            hi = kTempSensorHigh;
        } else if (i == rssi && fault_ == Fault::noisy_rssi) {
            lo = kRssiFloor;
            hi = kRssiCeiling;
        } else if (i == battery && fault_ == Fault::battery_dropout) {
            lo = 0;
        }
        values_[i] = quantise(i, std::clamp(reading(i, episode), lo, hi));
    }
    return !(fault_ == Fault::silent && episode);
}

double DeviceModel::reading(std::size_t i, bool episode)
{
    switch (i) {
    case temp: {
        Random& r = rng_[temp];
        if (t_ > 0) {
            const double c = swing_cos_ * turn_cos_ - swing_sin_ * turn_sin_;
            swing_sin_ = swing_sin_ * turn_cos_ + swing_cos_ * turn_sin_;
            swing_cos_ = c;
        }
        const double normal_temp = temp_base_ + temp_swing_ * swing_sin_ + walk(r, temp_drift_);
        const double heat_target = fault_ == Fault::overheating && episode ? temp_hot_ - normal_temp : 0;
        // A device first seen inside an episode has been hot for a while already.
        temp_heat_ = t_ == 0 ? heat_target : temp_heat_ + (heat_target - temp_heat_) * heat_lag_;
        return normal_temp + temp_heat_ + r.noise(0.1);
    }
    case rssi: {
        Random& r = rng_[rssi];
        const double fade = rssi_fade_ > 0 && r.uniform() < rssi_fade_ ? r.uniform(8, 28) : 0;
        return rssi_base_ + walk(r, rssi_drift_) + r.noise(rssi_noise_) - fade;
    }
    case battery: {
        Random& r = rng_[battery];
        if (fault_ == Fault::battery_dropout && episode)
            return r.uniform(2.3, 2.9); // the cell's contact drops out and the supply rail sags
        // A charger holds the cell above its resting voltage.
        return cell_volts(charge_) + (charging_ ? 0.05 : 0) + r.noise(0.01);
    }
    case cpu: {
        Random& r = rng_[cpu];
        cpu_burst_ *= cpu_burst_decay_;
        if (r.uniform() < cpu_burst_chance_)
            cpu_burst_ += r.uniform(25, 55);
        return cpu_base_ + walk(r, cpu_drift_) + cpu_burst_ + r.noise(2);
    }
    case uptime:
        return uptime_;
    case humidity:
        return humidity_base_ + walk(rng_[humidity], humidity_drift_) + rng_[humidity].noise(0.5);
    case pressure:
        return pressure_base_ + walk(rng_[pressure], pressure_drift_) + rng_[pressure].noise(0.1);
    default:
        return generic_base_[i - kNamed] + walk(generic_rng_, generic_drift_[i - kNamed]) +
               generic_rng_.noise(1);
    }
}

} // namespace fleetscope::sim
