// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/telemetry/codec.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace fleetscope::telemetry {
namespace {

namespace json = boost::json;

constexpr std::string_view kIdentifierForm = "characters of [A-Za-z0-9._:-]";

// `{"device":"a","metrics":{"b":0}}` and a comma: no sample is shorter, so reserving body size / this never
// over-reserves by more than the typical sample's size ratio and never reallocates.
constexpr std::size_t kMinSampleBytes = 33;

// Fleets usually send the same metrics in every sample; until a body shows its shape, guess this many.
constexpr std::size_t kInitialMetricsReserve = 4;

// Up to this many metrics, a quadratic duplicate scan beats sorting and needs no scratch space.
constexpr std::size_t kLinearDuplicateScanMax = 16;

// What an invalid identifier was: its length when that is the problem, else the text itself.
std::string describe_invalid(std::string_view s, std::size_t max_len)
{
    if (s.empty()) {
        return "got an empty string";
    }
    if (s.size() > max_len) {
        return "got " + std::to_string(s.size()) + " characters";
    }
    return "got " + quoted(s);
}

bool starts_with_nan_or_infinity(std::string_view s)
{
    const auto starts_with_word = [s](std::string_view word) {
        return s.size() >= word.size() && std::equal(word.begin(), word.end(), s.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) ==
                          std::tolower(static_cast<unsigned char>(b));
               });
    };
    return starts_with_word("nan") || starts_with_word("inf");
}

// SAX handler for boost::json::basic_parser. It validates each event against the position in the contract's
// shape and builds the samples in place, so no DOM is built and the first offending token ends the parse.
// Lives on the decoding thread for one call of decode_samples().
class SampleHandler {
public:
    // The contract's limits are checked by the events below, with messages that name them.
    static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();

    SampleHandler(std::int64_t now_ms, const DecodeLimits& limits, std::size_t body_size,
                  std::vector<Sample>& out)
        : now_ms_(now_ms)
        , limits_(limits)
        , body_size_(body_size)
        , out_(out)
    {}

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }

    bool on_array_begin(json::error_code& ec)
    {
        if (expect_ != Expect::body) {
            return unexpected(ec);
        }
        out_.reserve(std::min(limits_.max_samples, body_size_ / kMinSampleBytes + 1));
        expect_ = Expect::array_sample;
        return true;
    }

    bool on_array_end(std::size_t count, json::error_code& ec)
    {
        if (count == 0) {
            return reject(ec, "empty array: nothing to store; expected 1 to " +
                                  std::to_string(limits_.max_samples) + " sample objects");
        }
        expect_ = Expect::end;
        return true;
    }

    bool on_object_begin(json::error_code& ec)
    {
        switch (expect_) {
        case Expect::body:
            out_.reserve(1);
            begin_sample();
            in_array_ = false;
            return true;
        case Expect::array_sample:
            if (out_.size() == limits_.max_samples) {
                return reject(ec, "sample " + std::to_string(out_.size()) + ": more than " +
                                      std::to_string(limits_.max_samples) + " samples; expected 1 to " +
                                      std::to_string(limits_.max_samples) + " per request");
            }
            begin_sample();
            return true;
        case Expect::metrics:
            seen_ |= kSeenMetrics;
            expect_ = Expect::metric_name;
            return true;
        default:
            return unexpected(ec);
        }
    }

    bool on_object_end(std::size_t, json::error_code& ec)
    {
        if (expect_ == Expect::metric_name) {
            return end_metrics(ec);
        }
        return end_sample(ec);
    }

    bool on_string_part(json::string_view s, std::size_t, json::error_code& ec)
    {
        if (expect_ != Expect::device) {
            return unexpected(ec);
        }
        out_.back().device.append(s.data(), s.size());
        return true;
    }

    bool on_string(json::string_view s, std::size_t, json::error_code& ec)
    {
        if (expect_ != Expect::device) {
            return unexpected(ec);
        }
        std::string& device = out_.back().device;
        device.append(s.data(), s.size());
        if (!valid_identifier(device, kMaxDeviceLength)) {
            return reject(ec, sample_prefix() + "device: expected 1 to " + std::to_string(kMaxDeviceLength) +
                                  " " + std::string(kIdentifierForm) + ", " +
                                  describe_invalid(device, kMaxDeviceLength));
        }
        expect_ = Expect::sample_key;
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, json::error_code&)
    {
        key_.append(s.data(), s.size());
        return true;
    }

    bool on_key(json::string_view s, std::size_t, json::error_code& ec)
    {
        // Keys without escapes arrive whole; only escaped ones come in parts and need the buffer.
        std::string_view key(s.data(), s.size());
        if (!key_.empty()) {
            key_.append(key);
            key = key_;
        }
        const bool ok = expect_ == Expect::metric_name ? metric_key(key, ec) : sample_key(key, ec);
        key_.clear();
        return ok;
    }

    bool on_number_part(json::string_view, json::error_code&) { return true; }

    bool on_int64(std::int64_t v, json::string_view, json::error_code& ec)
    {
        if (expect_ == Expect::ts && v >= 0) {
            out_.back().ts_ms = v;
            expect_ = Expect::sample_key;
            return true;
        }
        return metric_value(static_cast<double>(v), ec);
    }

    bool on_uint64(std::uint64_t v, json::string_view, json::error_code& ec)
    {
        return metric_value(static_cast<double>(v), ec);
    }

    bool on_double(double v, json::string_view, json::error_code& ec)
    {
        // 1e400 parses to infinity; the contract wants finite numbers.
        if (!std::isfinite(v)) {
            return reject(ec,
                          expected_form() + ", got a number beyond the range of a double (about 1.8e308)");
        }
        return metric_value(v, ec);
    }

    bool on_bool(bool, json::error_code& ec) { return unexpected(ec); }
    bool on_null(json::error_code& ec) { return unexpected(ec); }

    // Comments are disabled in the parse options, so these never run; the parser still requires them.
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

    std::string& error() { return error_; }

    // Explains a failure of the JSON grammar itself at `offset`, in terms of where in the body it happened.
    std::string malformed(json::error_code ec, std::string_view body, std::size_t offset) const
    {
        const std::string at = "at byte " + std::to_string(offset);
        if (ec == json::error::too_deep) {
            return "JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels " + at;
        }
        const std::string where = in_sample() ? sample_prefix() : std::string();
        std::string reason = ec.message();
        if (offset < body.size()) {
            const auto byte = static_cast<unsigned char>(body[offset]);
            if (starts_with_nan_or_infinity(body.substr(offset))) {
                const std::string nan_note = "NaN and Infinity are not JSON numbers";
                if (expect_ == Expect::metric_value || expect_ == Expect::ts) {
                    return expected_form() + "; " + nan_note + " (" + at + ")";
                }
                reason = nan_note;
            } else if (byte >= 0x80) {
                reason += " (byte " + quoted(body.substr(offset, 1)) + " is not valid UTF-8 JSON here)";
            }
        }
        return where + "malformed JSON " + at + ": " + reason;
    }

private:
    // Where the parser stands in the contract's shape; each event is checked against it.
    enum class Expect { body, array_sample, sample_key, device, ts, metrics, metric_name, metric_value, end };

    static constexpr unsigned kSeenDevice = 1;
    static constexpr unsigned kSeenTs = 2;
    static constexpr unsigned kSeenMetrics = 4;

    void begin_sample()
    {
        Sample& sample = out_.emplace_back();
        sample.ts_ms = now_ms_;
        sample.metrics.reserve(metrics_reserve_);
        seen_ = 0;
        expect_ = Expect::sample_key;
    }

    bool end_sample(json::error_code& ec)
    {
        if ((seen_ & kSeenDevice) == 0) {
            return reject(ec, sample_prefix() + "missing device: expected a string of 1 to " +
                                  std::to_string(kMaxDeviceLength) + " " + std::string(kIdentifierForm));
        }
        if ((seen_ & kSeenMetrics) == 0) {
            return reject(ec, sample_prefix() + "missing metrics: expected an object of 1 to " +
                                  std::to_string(limits_.max_metrics) +
                                  " entries, each a name and a finite number");
        }
        metrics_reserve_ = out_.back().metrics.size();
        expect_ = in_array_ ? Expect::array_sample : Expect::end;
        return true;
    }

    bool sample_key(std::string_view key, json::error_code& ec)
    {
        unsigned flag = 0;
        if (key == "device") {
            flag = kSeenDevice;
            expect_ = Expect::device;
        } else if (key == "ts") {
            flag = kSeenTs;
            expect_ = Expect::ts;
        } else if (key == "metrics") {
            flag = kSeenMetrics;
            expect_ = Expect::metrics;
        } else {
            return reject(ec, sample_prefix() + "unknown key " + quoted(key) +
                                  "; allowed keys are device, ts and metrics");
        }
        if ((seen_ & flag) != 0) {
            return reject(ec,
                          sample_prefix() + "duplicate key " + quoted(key) + "; each key may appear once");
        }
        // `metrics` is marked seen once its object begins, so that `"metrics":1` reports the type instead.
        if (flag != kSeenMetrics) {
            seen_ |= flag;
        }
        return true;
    }

    bool metric_key(std::string_view name, json::error_code& ec)
    {
        std::vector<Metric>& metrics = out_.back().metrics;
        if (metrics.size() == limits_.max_metrics) {
            return reject(ec, sample_prefix() + "metrics: more than " + std::to_string(limits_.max_metrics) +
                                  " entries; expected 1 to " + std::to_string(limits_.max_metrics));
        }
        if (!valid_identifier(name, kMaxMetricNameLength)) {
            return reject(ec, sample_prefix() + "metrics: expected names of 1 to " +
                                  std::to_string(kMaxMetricNameLength) + " " + std::string(kIdentifierForm) +
                                  ", " + describe_invalid(name, kMaxMetricNameLength));
        }
        metrics.push_back(Metric{std::string(name), 0});
        expect_ = Expect::metric_value;
        return true;
    }

    bool metric_value(double v, json::error_code& ec)
    {
        if (expect_ != Expect::metric_value) {
            return unexpected(ec);
        }
        out_.back().metrics.back().value = v;
        expect_ = Expect::metric_name;
        return true;
    }

    bool end_metrics(json::error_code& ec)
    {
        const std::vector<Metric>& metrics = out_.back().metrics;
        if (metrics.empty()) {
            return reject(ec, sample_prefix() + "metrics: no entries; expected 1 to " +
                                  std::to_string(limits_.max_metrics));
        }
        if (const std::string_view name = duplicate_name(metrics); !name.empty()) {
            return reject(ec, sample_prefix() + "metrics." + std::string(name) +
                                  ": duplicate name; each metric may appear once per sample");
        }
        expect_ = Expect::sample_key;
        return true;
    }

    // Names were validated as non-empty identifiers, so an empty result means no duplicate.
    std::string_view duplicate_name(const std::vector<Metric>& metrics)
    {
        if (metrics.size() <= kLinearDuplicateScanMax) {
            for (std::size_t i = 1; i < metrics.size(); ++i) {
                for (std::size_t j = 0; j < i; ++j) {
                    if (metrics[i].name == metrics[j].name) {
                        return metrics[i].name;
                    }
                }
            }
            return {};
        }
        names_.clear();
        for (const Metric& m : metrics) {
            names_.emplace_back(m.name);
        }
        std::sort(names_.begin(), names_.end());
        const auto it = std::adjacent_find(names_.begin(), names_.end());
        return it == names_.end() ? std::string_view() : *it;
    }

    bool in_sample() const
    {
        return expect_ != Expect::body && expect_ != Expect::array_sample && expect_ != Expect::end;
    }

    std::string sample_prefix() const
    {
        // Inside a sample it is the last one begun; between samples, the next one.
        const std::size_t index = in_sample() ? out_.size() - 1 : out_.size();
        return "sample " + std::to_string(index) + ": ";
    }

    // The form the current position requires, with the sample and field it belongs to.
    std::string expected_form() const
    {
        const std::string max_samples = std::to_string(limits_.max_samples);
        switch (expect_) {
        case Expect::body:
            return "expected a sample object or an array of 1 to " + max_samples + " sample objects";
        case Expect::array_sample:
            return sample_prefix() + "expected a sample object";
        case Expect::device:
            return sample_prefix() + "device: expected a string of 1 to " + std::to_string(kMaxDeviceLength) +
                   " " + std::string(kIdentifierForm);
        case Expect::ts:
            return sample_prefix() + "ts: expected an integer from 0 to " +
                   std::to_string(std::numeric_limits<std::int64_t>::max()) +
                   " (milliseconds since the Unix epoch)";
        case Expect::metrics:
            return sample_prefix() + "metrics: expected an object of 1 to " +
                   std::to_string(limits_.max_metrics) + " entries, each a name and a finite number";
        case Expect::metric_value:
            return sample_prefix() + "metrics." + out_.back().metrics.back().name +
                   ": expected a finite number";
        case Expect::sample_key:
        case Expect::metric_name:
        case Expect::end:
            break;
        }
        // The grammar allows only keys or the closing brace here, so a value event cannot arrive.
        return "unexpected JSON value";
    }

    bool unexpected(json::error_code& ec) { return reject(ec, expected_form()); }

    bool reject(json::error_code& ec, std::string message)
    {
        error_ = std::move(message);
        // The parser needs some failure code to stop; error_ carries the real reason.
        ec = json::error::syntax;
        return false;
    }

    std::int64_t now_ms_;
    const DecodeLimits& limits_;
    std::size_t body_size_;
    std::vector<Sample>& out_;
    Expect expect_ = Expect::body;
    bool in_array_ = true;
    unsigned seen_ = 0;
    std::size_t metrics_reserve_ = kInitialMetricsReserve;
    std::string key_;
    std::vector<std::string_view> names_;
    std::string error_;
};

} // namespace

std::string quoted(std::string_view s)
{
    constexpr std::size_t kMaxShown = 64;
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string out = "\"";
    for (char c : s.substr(0, kMaxShown)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    out += '"';
    if (s.size() > kMaxShown) {
        out += "...";
    }
    return out;
}

util::Result<std::vector<Sample>> decode_samples(std::string_view body, std::int64_t now_ms,
                                                 const DecodeLimits& limits)
{
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return util::fail("empty body: expected a sample object or an array of 1 to " +
                          std::to_string(limits.max_samples) + " sample objects");

    std::vector<Sample> samples;

    json::parse_options options; // strict JSON: no comments, no trailing commas, valid UTF-8 only
    options.max_depth = limits.max_depth;
    json::basic_parser<SampleHandler> parser(options, now_ms, limits, body.size(), samples);
    json::error_code ec;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);

    SampleHandler& handler = parser.handler();
    if (!handler.error().empty())
        return util::fail(std::move(handler.error()));
    if (ec)
        return util::fail(handler.malformed(ec, body, used));
    if (used < body.size())
        return util::fail("trailing data at byte " + std::to_string(used) +
                          " after the JSON value; expected one value");
    return samples;
}

} // namespace fleetscope::telemetry
