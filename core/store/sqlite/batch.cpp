// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/batch.hpp"

#include "core/store/sqlite/varint.hpp"
#include "core/store/types.hpp"

#include <bit>
#include <cstring>

namespace fleetscope::store::sqlite {

namespace {

void put_name(std::string& out, std::int64_t id, std::string_view name)
{
    put_varint(out, static_cast<std::uint64_t>(id));
    put_varint(out, name.size());
    out.append(name);
}

} // namespace

void BatchEncoder::clear()
{
    devices_.clear();
    metrics_.clear();
    samples_.clear();
    device_count_ = 0;
    metric_count_ = 0;
    sample_count_ = 0;
    last_ts_ = 0;
}

void BatchEncoder::new_device(std::int64_t id, std::string_view name)
{
    put_name(devices_, id, name);
    ++device_count_;
}

void BatchEncoder::new_metric(std::int64_t id, std::string_view name)
{
    put_name(metrics_, id, name);
    ++metric_count_;
}

void BatchEncoder::sample(std::int64_t device, std::int64_t ts, std::size_t readings)
{
    char* p = samples_.room(30);
    p = write_varint(p, static_cast<std::uint64_t>(device));
    // Wrapping subtraction: any two int64 ts have a difference that round-trips.
    p = write_zigzag(
        p, static_cast<std::int64_t>(static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(last_ts_)));
    samples_.commit(write_varint(p, readings));
    last_ts_ = ts;
    ++sample_count_;
}

void BatchEncoder::reading(std::int64_t metric, double value)
{
    char* p = samples_.room(18);
    p = write_varint(p, static_cast<std::uint64_t>(metric));
    samples_.commit(write_double(p, value));
}

std::string_view BatchEncoder::finish()
{
    out_.clear();
    out_.reserve(32 + devices_.size() + metrics_.size() + samples_.view().size());
    out_ += static_cast<char>(kBatchFormat);
    put_varint(out_, device_count_);
    out_ += devices_;
    put_varint(out_, metric_count_);
    out_ += metrics_;
    put_varint(out_, sample_count_);
    out_ += samples_.view();
    return out_;
}

BatchDecoder::BatchDecoder(std::string_view bytes, std::string_view where)
    : in_(bytes)
    , where_(where)
{
    if (in_.empty() || static_cast<std::uint8_t>(in_[0]) != kBatchFormat)
        throw StoreError("batch of an unknown format in " + std::string(where_) + " (expected format " +
                         std::to_string(kBatchFormat) + ")");
    pos_ = 1;
    devices_left_ = varint();
}

void BatchDecoder::corrupt() const
{
    throw StoreError("a corrupt batch in " + std::string(where_) + " (at byte " + std::to_string(pos_) +
                     " of " + std::to_string(in_.size()) + ")");
}

std::uint64_t BatchDecoder::varint()
{
    std::uint64_t v;
    if (!get_varint(in_, pos_, v))
        corrupt();
    return v;
}

std::string_view BatchDecoder::bytes(std::size_t n)
{
    if (n > in_.size() - pos_)
        corrupt();
    const std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
}

bool BatchDecoder::next_device(std::int64_t& id, std::string_view& name)
{
    if (section_ != 0)
        return false;
    if (devices_left_ == 0) {
        metrics_left_ = varint();
        section_ = 1;
        return false;
    }
    id = static_cast<std::int64_t>(varint());
    name = bytes(static_cast<std::size_t>(varint()));
    --devices_left_;
    return true;
}

bool BatchDecoder::next_metric(std::int64_t& id, std::string_view& name)
{
    std::int64_t skip_id;
    std::string_view skip_name;
    while (section_ == 0)
        next_device(skip_id, skip_name);
    if (section_ != 1)
        return false;
    if (metrics_left_ == 0) {
        samples_left_ = varint();
        section_ = 2;
        return false;
    }
    id = static_cast<std::int64_t>(varint());
    name = bytes(static_cast<std::size_t>(varint()));
    --metrics_left_;
    return true;
}

void BatchDecoder::skip_names()
{
    std::int64_t id;
    std::string_view name;
    while (section_ < 2)
        next_metric(id, name);
}

bool BatchDecoder::next_sample(std::int64_t& device, std::int64_t& ts, std::size_t& readings)
{
    skip_names();
    while (readings_left_ > 0) {
        std::int64_t metric;
        double value;
        next_reading(metric, value);
    }
    if (samples_left_ == 0) {
        if (pos_ != in_.size())
            corrupt();
        return false;
    }
    --samples_left_;
    device = static_cast<std::int64_t>(varint());
    std::int64_t delta;
    if (!get_zigzag(in_, pos_, delta))
        corrupt();
    last_ts_ =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(last_ts_) + static_cast<std::uint64_t>(delta));
    ts = last_ts_;
    readings_left_ = static_cast<std::size_t>(varint());
    readings = readings_left_;
    return true;
}

void BatchDecoder::next_reading(std::int64_t& metric, double& value)
{
    if (readings_left_ == 0)
        corrupt();
    metric = static_cast<std::int64_t>(varint());
    if (!get_double(in_, pos_, value))
        corrupt();
    --readings_left_;
}

} // namespace fleetscope::store::sqlite
