// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/content_coding.hpp"

#include <algorithm>
#include <zlib.h>

namespace fleetscope::net {

std::string_view coding_name(Coding coding)
{
    switch (coding) {
    case Coding::gzip:
        return "gzip";
    case Coding::deflate:
        return "deflate";
    case Coding::identity:
        break;
    }
    return "identity";
}

namespace {

/// Owns one zlib inflate stream.
class Inflater {
public:
    explicit Inflater(Coding coding)
    {
        // 15 window bits: the zlib format that HTTP's "deflate" names; 16 more: the gzip format.
        ok_ = inflateInit2(&z_, coding == Coding::gzip ? 15 + 16 : 15) == Z_OK;
    }
    ~Inflater()
    {
        if (ok_)
            inflateEnd(&z_);
    }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    bool ok() const { return ok_; }
    z_stream& stream() { return z_; }

private:
    z_stream z_{};
    bool ok_ = false;
};

Decoded corrupt(std::string detail)
{
    return Decoded{Decoded::Status::corrupt, std::move(detail)};
}

} // namespace

Decoded decode_content(Coding coding, std::string_view coded, Body::value_type& out, std::size_t limit)
{
    Inflater inflater(coding);
    if (!inflater.ok())
        return corrupt("zlib could not start (out of memory)");
    z_stream& z = inflater.stream();
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(coded.data()));
    z.avail_in = static_cast<uInt>(coded.size());

    // The output grows as it fills, up to one byte past the limit: that byte proves the body too large.
    const std::size_t ceiling = limit + 1;
    std::size_t capacity = std::min(ceiling, std::max<std::size_t>(coded.size() * 4, 4096));
    std::size_t produced = 0;
    out.resize(capacity);
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        z.avail_out = static_cast<uInt>(capacity - produced);
        const int rc = inflate(&z, Z_NO_FLUSH);
        produced = capacity - z.avail_out;
        if (produced > limit)
            return Decoded{Decoded::Status::too_large, {}};
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            // gzip allows several members one after another (RFC 1952 2.2); anything else is trailing junk.
            if (coding != Coding::gzip)
                return corrupt("data after the end of the compressed stream");
            if (inflateReset(&z) != Z_OK)
                return corrupt("zlib could not read the next gzip member");
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return corrupt(z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc));
        if (z.avail_out == 0) {
            capacity = std::min(ceiling, capacity * 2);
            out.resize(capacity);
        } else if (z.avail_in == 0) {
            return corrupt("the compressed stream ends early");
        }
    }
    out.resize(produced);
    return {};
}

} // namespace fleetscope::net
