// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/export_sinks.hpp"

#include "core/telemetry/number.hpp"
#include "core/util/iso_time.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace fleetscope::store {

namespace json = boost::json;

namespace {

constexpr std::size_t kOutputBuffer = 1 << 20;

void append_int(std::string& out, std::int64_t v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// RFC 4180: quoted only when it holds a comma, a quote or a line break; quotes doubled.
std::string csv_field(std::string_view s)
{
    if (s.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(s);
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

/// Buffered writes to a FILE*, failing with the OS's reason.
class TextFile {
public:
    explicit TextFile(const std::string& path)
        : path_(path)
        , f_(std::fopen(path.c_str(), "wb"))
    {
        if (!f_)
            throw StoreError("cannot create " + path + ": " + std::strerror(errno));
        buf_.reserve(kOutputBuffer + 4096);
    }
    ~TextFile()
    {
        if (f_)
            std::fclose(f_);
    }
    TextFile(const TextFile&) = delete;
    TextFile& operator=(const TextFile&) = delete;

    std::string& buffer() { return buf_; }
    void maybe_flush()
    {
        if (buf_.size() >= kOutputBuffer)
            flush();
    }
    void flush()
    {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
            throw StoreError("cannot write " + path_ + ": " + std::strerror(errno));
        buf_.clear();
    }
    void close()
    {
        flush();
        std::FILE* f = std::exchange(f_, nullptr);
        if (std::fflush(f) != 0 || std::fclose(f) != 0)
            throw StoreError("cannot write " + path_ + ": " + std::strerror(errno));
    }

private:
    std::string path_;
    std::FILE* f_;
    std::string buf_;
};

class CsvSink final : public ExportSink {
public:
    explicit CsvSink(const std::string& path)
        : file_(path)
    {
        file_.buffer() += "device,ts,iso_time,metric,value\r\n";
    }
    void device(const DeviceRow& d) override { device_ = csv_field(d.device); }
    void reading(const std::string& metric, std::int64_t ts, double value) override
    {
        std::string& out = file_.buffer();
        out += device_;
        out += ',';
        append_int(out, ts);
        out += ',';
        util::append_iso_time(out, ts);
        out += ',';
        auto it = names_.find(metric);
        if (it == names_.end())
            it = names_.emplace(metric, csv_field(metric)).first;
        out += it->second;
        out += ',';
        telemetry::append_number(out, value);
        out += "\r\n";
        file_.maybe_flush();
    }
    void close() override { file_.close(); }

private:
    TextFile file_;
    std::string device_;
    std::unordered_map<std::string, std::string> names_;
};

class JsonlSink final : public ExportSink {
public:
    explicit JsonlSink(const std::string& path)
        : file_(path)
    {}
    // Names are escaped by Boost.JSON once each; numbers are formatted here, as the shortest round-trip text.
    void device(const DeviceRow& d) override
    {
        device_ = "{\"device\":" + json::serialize(json::string(d.device));
    }
    void reading(const std::string& metric, std::int64_t ts, double value) override
    {
        std::string& out = file_.buffer();
        out += device_;
        out += ",\"ts\":";
        append_int(out, ts);
        out += ",\"metric\":";
        auto it = names_.find(metric);
        if (it == names_.end())
            it = names_.emplace(metric, json::serialize(json::string(metric))).first;
        out += it->second;
        out += ",\"value\":";
        telemetry::append_number(out, value);
        out += "}\n";
        file_.maybe_flush();
    }
    void close() override { file_.close(); }

private:
    TextFile file_;
    std::string device_;
    std::unordered_map<std::string, std::string> names_;
};

} // namespace

std::unique_ptr<ExportSink> make_text_sink(ExportFormat format, const std::string& path)
{
    if (format == ExportFormat::jsonl)
        return std::make_unique<JsonlSink>(path);
    return std::make_unique<CsvSink>(path);
}

} // namespace fleetscope::store
