// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/telemetry/line_protocol.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace fleetscope::telemetry {
namespace {

/// A cursor over one line; `line_no` and the column of `pos` name where an error is.
struct Line {
    std::string_view text;
    std::size_t pos = 0;

    bool done() const { return pos >= text.size(); }
    char peek() const { return text[pos]; }
};

/// Why a line is invalid; the column is 1-based.
struct Problem {
    std::size_t column = 0;
    std::string what;
};

/// Reads an element up to an unescaped delimiter. A backslash before one of `escapable` stands for that
/// character; before any other character it is a plain backslash, as InfluxDB reads it. `out` is a view of
/// the line when the element has no escape, else `scratch` holds the unescaped copy.
std::string_view read_element(Line& line, std::string_view delimiters, std::string_view escapable,
                              std::string& scratch)
{
    const std::size_t start = line.pos;
    bool escaped = false;
    while (!line.done()) {
        const char c = line.peek();
        if (c == '\\' && line.pos + 1 < line.text.size() &&
            escapable.find(line.text[line.pos + 1]) != std::string_view::npos) {
            escaped = true;
            line.pos += 2;
            continue;
        }
        if (delimiters.find(c) != std::string_view::npos)
            break;
        ++line.pos;
    }
    const std::string_view raw = line.text.substr(start, line.pos - start);
    if (!escaped)
        return raw;
    scratch.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size() && escapable.find(raw[i + 1]) != std::string_view::npos)
            ++i;
        scratch += raw[i];
    }
    return scratch;
}

bool is_word(std::string_view s, std::initializer_list<std::string_view> words)
{
    for (const auto w : words)
        if (s == w)
            return true;
    return false;
}

/// A field value that is not a string: float, integer (`i`), unsigned (`u`) or boolean.
std::optional<double> parse_number(std::string_view v)
{
    if (v.empty())
        return std::nullopt;
    if (is_word(v, {"t", "T", "true", "True", "TRUE"}))
        return 1.0;
    if (is_word(v, {"f", "F", "false", "False", "FALSE"}))
        return 0.0;
    const char* first = v.data();
    if (v.back() == 'i') {
        std::int64_t n = 0;
        const char* last = first + v.size() - 1;
        const auto [p, ec] = std::from_chars(first, last, n);
        if (ec != std::errc{} || p != last)
            return std::nullopt;
        return static_cast<double>(n);
    }
    if (v.back() == 'u') {
        std::uint64_t n = 0;
        const char* last = first + v.size() - 1;
        if (*first == '-')
            return std::nullopt;
        const auto [p, ec] = std::from_chars(first, last, n);
        if (ec != std::errc{} || p != last)
            return std::nullopt;
        return static_cast<double>(n);
    }
    // from_chars reads "inf" and "nan" too; neither is a reading. A leading '+' it refuses, as InfluxDB does.
    double d = 0;
    const auto [p, ec] = std::from_chars(first, first + v.size(), d);
    if (ec != std::errc{} || p != first + v.size() || !std::isfinite(d))
        return std::nullopt;
    return d;
}

/// Milliseconds since the epoch of a timestamp in `precision`, or nothing when it is out of range.
std::optional<std::int64_t> to_ms(std::int64_t t, Precision precision)
{
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    auto times = [&](std::int64_t k) -> std::optional<std::int64_t> {
        if (t > kMax / k || t < kMin / k)
            return std::nullopt;
        return t * k;
    };
    switch (precision) {
    case Precision::ns:
        return t / 1'000'000;
    case Precision::us:
        return t / 1'000;
    case Precision::ms:
        return t;
    case Precision::s:
        return times(1'000);
    case Precision::m:
        return times(60'000);
    case Precision::h:
        return times(3'600'000);
    }
    return std::nullopt;
}

/// Parses one non-empty, non-comment line into `sample`; returns the problem, if any.
std::optional<Problem> parse_line(Line& line, const LineProtocolOptions& o, Sample& sample,
                                  std::size_t& strings)
{
    auto problem = [&line](std::string what) { return Problem{line.pos + 1, std::move(what)}; };
    std::string measurement_scratch;
    std::string scratch;

    const std::string_view measurement = read_element(line, ", ", ", ", measurement_scratch);
    if (measurement.empty())
        return problem("expected a measurement name at the start of the line");

    // Tags: only the device's is kept.
    std::optional<std::string_view> device;
    std::optional<std::string_view> host;
    std::string device_value;
    while (!line.done() && line.peek() == ',') {
        ++line.pos;
        const std::string_view key = read_element(line, ",= ", ",= ", scratch);
        if (key.empty())
            return problem("expected a tag key after ','");
        const bool is_device = key == o.device_tag;
        const bool is_host = key == "host";
        if (line.done() || line.peek() != '=')
            return problem("expected '=' after the tag key " + quoted(key));
        ++line.pos;
        const std::string_view value = read_element(line, ", =", ",= ", scratch);
        if (value.empty())
            return problem("expected a value for the tag " + quoted(key));
        if (is_device || (is_host && !device)) {
            device_value.assign(value);
            if (is_device)
                device = device_value;
            else
                host = device_value;
        }
    }
    if (line.done() || line.peek() != ' ')
        return problem("expected a space, then the fields (key=value, comma-separated)");
    while (!line.done() && line.peek() == ' ')
        ++line.pos;

    const std::string_view device_name = device ? *device : host ? *host : o.fallback_device;
    if (device_name.empty())
        return Problem{1, "no '" + std::string(o.device_tag) +
                              "' tag (nor 'host'): the device is the value of "
                              "the tag named by influx-device-tag"};
    if (!valid_identifier(device_name, kMaxDeviceLength))
        return Problem{1, "device " + quoted(device_name) + ": expected 1 to " +
                              std::to_string(kMaxDeviceLength) + " characters of [A-Za-z0-9._:-]"};

    // Fields.
    sample.metrics.clear();
    std::size_t fields = 0;
    for (;;) {
        const std::string_view key = read_element(line, ",= ", ",= ", scratch);
        if (key.empty())
            return problem("expected a field key");
        if (line.done() || line.peek() != '=')
            return problem("expected '=' after the field key " + quoted(key));
        ++line.pos;
        if (++fields > o.limits.max_metrics)
            return problem("more than max-metrics = " + std::to_string(o.limits.max_metrics) +
                           " fields on one line");
        std::string name;
        name.reserve(measurement.size() + 1 + key.size());
        name.append(measurement).append(1, '.').append(key);
        if (!line.done() && line.peek() == '"') {
            // A string field: read past it, honouring \" and \\; it is not a reading.
            ++line.pos;
            bool closed = false;
            while (!line.done()) {
                const char c = line.peek();
                if (c == '\\' && line.pos + 1 < line.text.size()) {
                    line.pos += 2;
                    continue;
                }
                ++line.pos;
                if (c == '"') {
                    closed = true;
                    break;
                }
            }
            if (!closed)
                return problem("unterminated string value of the field " + quoted(key));
            ++strings;
        } else {
            const std::size_t start = line.pos;
            while (!line.done() && line.peek() != ',' && line.peek() != ' ')
                ++line.pos;
            const std::string_view text = line.text.substr(start, line.pos - start);
            const auto value = parse_number(text);
            if (!value)
                return Problem{start + 1, "field " + quoted(key) +
                                              ": expected a float (1.5), an integer "
                                              "(10i), an unsigned integer (10u), a "
                                              "boolean (t, false...) or a quoted string, "
                                              "got " +
                                              quoted(text)};
            if (!valid_identifier(name, kMaxMetricNameLength))
                return Problem{start + 1, "metric " + quoted(name) + " (measurement.field): expected 1 to " +
                                              std::to_string(kMaxMetricNameLength) +
                                              " characters of [A-Za-z0-9._:-]"};
            // A repeated field keeps its last value, as InfluxDB does.
            bool repeated = false;
            for (auto& m : sample.metrics)
                if (m.name == name) {
                    m.value = *value;
                    repeated = true;
                }
            if (!repeated)
                sample.metrics.push_back(Metric{std::move(name), *value});
        }
        if (line.done() || line.peek() == ' ')
            break;
        ++line.pos; // ','
    }

    // Timestamp.
    while (!line.done() && line.peek() == ' ')
        ++line.pos;
    if (line.done()) {
        sample.ts_ms = o.now_ms;
    } else {
        const std::size_t start = line.pos;
        std::size_t end = line.text.find(' ', start);
        end = end == std::string_view::npos ? line.text.size() : end;
        std::int64_t t = 0;
        const auto [p, ec] = std::from_chars(line.text.data() + start, line.text.data() + end, t);
        if (ec != std::errc{} || p != line.text.data() + end)
            return Problem{start + 1, "expected an integer timestamp after the fields, got " +
                                          quoted(line.text.substr(start, end - start))};
        const auto ms = to_ms(t, o.precision);
        if (!ms || *ms < 0)
            return Problem{start + 1, "timestamp " + quoted(line.text.substr(start, end - start)) +
                                          " is before 1970 or out of range for its precision"};
        sample.ts_ms = *ms;
        line.pos = end;
        while (!line.done() && line.peek() == ' ')
            ++line.pos;
        if (!line.done())
            return problem("unexpected text after the timestamp");
    }
    sample.device.assign(device_name);
    sample.source = Source::line_protocol;
    return std::nullopt;
}

} // namespace

std::optional<Precision> parse_precision(std::string_view text)
{
    if (text == "ns" || text == "n")
        return Precision::ns;
    if (text == "us" || text == "u")
        return Precision::us;
    if (text == "ms")
        return Precision::ms;
    if (text == "s")
        return Precision::s;
    if (text == "m")
        return Precision::m;
    if (text == "h")
        return Precision::h;
    return std::nullopt;
}

util::Result<LineProtocolSamples> decode_line_protocol(std::string_view body,
                                                       const LineProtocolOptions& options)
{
    LineProtocolSamples r;
    std::size_t line_no = 0;
    Sample sample;
    while (!body.empty()) {
        ++line_no;
        const std::size_t nl = body.find('\n');
        std::string_view text = body.substr(0, nl);
        body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
        if (!text.empty() && text.back() == '\r')
            text.remove_suffix(1);
        std::size_t lead = 0;
        while (lead < text.size() && (text[lead] == ' ' || text[lead] == '\t'))
            ++lead;
        if (lead == text.size() || text[lead] == '#')
            continue;
        Line line{text, lead};
        if (auto p = parse_line(line, options, sample, r.strings_skipped))
            return util::fail("line " + std::to_string(line_no) + ", column " + std::to_string(p->column) +
                              ": " + p->what + "; nothing from this request was stored");
        if (sample.metrics.empty())
            continue; // string fields only
        if (r.samples.size() == options.limits.max_samples)
            return util::fail("line " + std::to_string(line_no) +
                              ": more than max-samples = " + std::to_string(options.limits.max_samples) +
                              " lines with readings in one request; nothing from this request was stored");
        r.samples.push_back(std::move(sample));
        sample = Sample{};
    }
    return r;
}

} // namespace fleetscope::telemetry
