// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/auth/tokens.hpp"

#include "core/telemetry/codec.hpp"

#include <boost/beast/core/string.hpp>

#include <fstream>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace fleetscope::auth {

namespace {

// README.md, HTTP API: device ids are 1 to 128 characters; operators alike.
constexpr std::size_t kMaxNameChars = 128;
constexpr std::size_t kTokenBytes = 32;
// Token tables one thread keeps entries of at once: the device and operator tables of a gateway, or several
// gateways in one test process. A table beyond that costs its threads a mutex acquisition per lookup.
constexpr std::size_t kCachedTables = 4;

std::atomic<std::uint64_t> g_next_version{1};

/// What the messages about one kind of token file call things.
struct Words {
    std::string_view setting; // the gateway setting naming the file
    std::string_view entity;  // who a line's token is for
    std::string_view name;    // how the first field is called in prose ("device id")
    std::string_view form;    // the first field in the line's form
    std::string_view flag;    // the `add` subcommand's flag for the name
    std::string_view command; // the `add` subcommand
    std::string_view header;  // the comment a new file starts with
};

const Words& words(TokenFile kind)
{
    static constexpr Words kDevices{
        "token-file",
        "device",
        "device id",
        "DEVICE",
        "--device",
        "fleetscope-gateway token add",
        "# FleetScope device tokens: DEVICE SHA256-HEX-OF-TOKEN, one per line. Tokens are stored only as "
        "their SHA-256.\n"};
    static constexpr Words kOperators{
        "operator-token-file",
        "operator",
        "operator name",
        "NAME",
        "--name",
        "fleetscope-gateway operator add",
        "# FleetScope operator tokens: NAME SHA256-HEX-OF-TOKEN, one per line. Tokens are stored only as "
        "their SHA-256.\n"};
    return kind == TokenFile::operators ? kOperators : kDevices;
}

std::string str(std::string_view v)
{
    return std::string(v);
}

/// SHA-256 fetched once: an implicit fetch per digest (EVP_sha256() in OpenSSL 3) takes a lock on the
/// provider store, which every worker would contend on.
const EVP_MD* sha256_md()
{
#if OPENSSL_VERSION_MAJOR >= 3
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
#else
    return EVP_sha256();
#endif
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/// The next run of non-blank characters from `rest`, which then starts after it.
std::string_view next_field(std::string_view& rest)
{
    std::size_t i = 0;
    while (i < rest.size() && is_blank(rest[i]))
        ++i;
    std::size_t j = i;
    while (j < rest.size() && !is_blank(rest[j]))
        ++j;
    const std::string_view field = rest.substr(i, j - i);
    rest.remove_prefix(j);
    return field;
}

/// The file's text ("" and `exists` false when it cannot be opened), or that it cannot be read.
util::Result<std::string> read_file(const std::string& path, bool& exists, const Words& w)
{
    std::ifstream in(path, std::ios::binary);
    exists = static_cast<bool>(in);
    if (!in)
        return std::string();
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return util::fail(str(w.setting) + " " + path + ": cannot be read");
    return std::move(text).str();
}

} // namespace

Digest sha256(std::string_view text)
{
    Digest d{};
    unsigned int n = 0;
    if (EVP_Digest(text.data(), text.size(), d.data(), &n, sha256_md(), nullptr) != 1 || n != d.size())
        throw std::runtime_error("SHA-256 is not available from OpenSSL");
    return d;
}

std::string to_hex(const Digest& d)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(d.size() * 2);
    for (unsigned char b : d) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0xf];
    }
    return out;
}

std::string generate_token()
{
    Digest raw{};
    static_assert(sizeof(raw) == kTokenBytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
        throw std::runtime_error("OpenSSL's random generator failed; no token was created");
    return to_hex(raw);
}

util::Result<TokenTable> TokenTable::parse(std::string_view text, TokenFile kind)
{
    const Words& w = words(kind);
    Map digests;
    std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> line_of;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto eol = text.find('\n');
        std::string_view rest = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        const auto where = "line " + std::to_string(number) + ": ";

        const std::string_view device = next_field(rest);
        if (device.empty() || device.front() == '#')
            continue;
        const std::string_view hex = next_field(rest);
        if (hex.empty())
            return util::fail(where + "expected '" + str(w.form) + " SHA256-HEX' (the " + str(w.name) +
                              ", a space or tab, the token's SHA-256 as 64 hex digits), got only '" +
                              std::string(device.substr(0, 64)) + "'");
        if (!next_field(rest).empty())
            return util::fail(where + "expected '" + str(w.form) +
                              " SHA256-HEX' and nothing after it; found a third field");
        if (!telemetry::valid_identifier(device, kMaxNameChars))
            return util::fail(where + str(w.name) + " '" + std::string(device.substr(0, 64)) +
                              "': expected 1 to 128 characters of [A-Za-z0-9._:-]");
        Digest d{};
        bool hex_ok = hex.size() == d.size() * 2;
        for (std::size_t i = 0; hex_ok && i < d.size(); ++i) {
            const int hi = hex_value(hex[2 * i]);
            const int lo = hex_value(hex[2 * i + 1]);
            hex_ok = hi >= 0 && lo >= 0;
            d[i] = static_cast<unsigned char>(hi * 16 + lo);
        }
        if (!hex_ok)
            return util::fail(where + str(w.entity) + " '" + std::string(device) +
                              "': expected the token's SHA-256 as 64 hex digits, got " +
                              (hex.size() != d.size() * 2
                                   ? std::to_string(hex.size()) + " characters"
                                   : std::string("a character that is not a hex digit")));
        if (auto it = line_of.find(device); it != line_of.end())
            return util::fail(where + str(w.entity) + " '" + std::string(device) +
                              "' already has a token on line " + std::to_string(it->second) +
                              ": one token per " + str(w.entity));
        line_of.emplace(device, number);
        digests.emplace(device, d);
    }
    TokenTable table;
    table.assign(std::make_shared<const Map>(std::move(digests)));
    return table;
}

util::Result<TokenTable> TokenTable::load(const std::string& path, TokenFile kind)
{
    const Words& w = words(kind);
    bool exists = false;
    auto text = read_file(path, exists, w);
    if (!text)
        return util::fail(text.error());
    if (!exists)
        return util::fail(str(w.setting) + " " + path + ": cannot be opened; create it with '" +
                          str(w.command) + " --" + str(w.setting) + " " + path + " " + str(w.flag) + " " +
                          (kind == TokenFile::operators ? "NAME" : "ID") + "'");
    auto table = parse(*text, kind);
    if (!table)
        return util::fail(str(w.setting) + " " + path + ", " + table.error());
    return table;
}

TokenTable::TokenTable()
    : map_(std::make_shared<const Map>())
    , version_(g_next_version.fetch_add(1, std::memory_order_relaxed))
{}

TokenTable::TokenTable(TokenTable&& other) noexcept
    : TokenTable()
{
    replace(std::move(other));
}

TokenTable& TokenTable::operator=(TokenTable&& other) noexcept
{
    if (this != &other)
        replace(std::move(other));
    return *this;
}

TokenTable::~TokenTable() = default;

void TokenTable::assign(std::shared_ptr<const Map> map)
{
    std::lock_guard lk(mutex_);
    map_ = std::move(map);
    version_.store(g_next_version.fetch_add(1, std::memory_order_relaxed), std::memory_order_release);
}

void TokenTable::replace(TokenTable&& fresh)
{
    std::shared_ptr<const Map> taken;
    {
        std::lock_guard lk(fresh.mutex_);
        taken = std::exchange(fresh.map_, std::make_shared<const Map>());
        fresh.version_.store(g_next_version.fetch_add(1, std::memory_order_relaxed),
                             std::memory_order_release);
    }
    assign(std::move(taken));
}

const TokenTable::Map& TokenTable::entries() const
{
    // This thread's references to the entries of the last few tables it used, by version. A version seen
    // here is current until version_ moves on; the old entries are freed once every thread has moved on too.
    thread_local std::array<std::pair<std::uint64_t, std::shared_ptr<const Map>>, kCachedTables> cache{};
    thread_local std::size_t next_slot = 0;
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    for (const auto& [v, map] : cache)
        if (v == version)
            return *map;
    std::lock_guard lk(mutex_);
    auto& slot = cache[next_slot++ % kCachedTables];
    slot = {version_.load(std::memory_order_relaxed), map_};
    return *slot.second;
}

bool TokenTable::verify(std::string_view device, const Digest& token_digest) const
{
    // An unknown device still costs one comparison, against a digest no token has, so timing does not say
    // which device ids are registered.
    static const Digest kNone{};
    const Map& digests = entries();
    const auto it = digests.find(device);
    const Digest& expected = it == digests.end() ? kNone : it->second;
    const bool equal = CRYPTO_memcmp(expected.data(), token_digest.data(), expected.size()) == 0;
    return equal && it != digests.end();
}

std::optional<std::string> TokenTable::find(const Digest& token_digest) const
{
    // Every entry is compared, with no early exit, so the time does not tell how many entries a wrong token
    // was tried against; CRYPTO_memcmp does not tell how close a digest came.
    const std::string* found = nullptr;
    for (const auto& [name, digest] : entries()) {
        if (CRYPTO_memcmp(digest.data(), token_digest.data(), digest.size()) == 0)
            found = &name;
    }
    if (!found)
        return std::nullopt;
    return *found;
}

bool TokenTable::contains(std::string_view device) const
{
    const Map& digests = entries();
    return digests.find(device) != digests.end();
}

std::size_t TokenTable::size() const
{
    return entries().size();
}

std::string add_token(const std::string& path, std::string_view device, TokenFile kind)
{
    const Words& w = words(kind);
    if (!telemetry::valid_identifier(device, kMaxNameChars))
        throw std::runtime_error(str(w.flag) + " '" + std::string(device.substr(0, 64)) +
                                 "': expected 1 to 128 characters of [A-Za-z0-9._:-]");
    bool exists = false;
    auto read = read_file(path, exists, w);
    if (!read)
        throw std::runtime_error(read.error());
    const std::string& text = *read;
    auto table = TokenTable::parse(text, kind);
    if (!table)
        throw std::runtime_error(str(w.setting) + " " + path + ", " + table.error() + "; nothing was added");
    if (table->contains(device))
        throw std::runtime_error(str(w.setting) + " " + path + ": " + str(w.entity) + " '" +
                                 std::string(device) +
                                 "' already has a token; remove its line to issue a new one");

    const std::string token = generate_token();
    std::string line;
    if (!exists)
        line += w.header;
    else if (!text.empty() && text.back() != '\n')
        line += '\n';
    line += std::string(device) + ' ' + to_hex(sha256(token)) + '\n';
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << line;
    out.flush();
    if (!out)
        throw std::runtime_error(str(w.setting) + " " + path + ": cannot be written; no token was added");
    return token;
}

std::optional<std::string_view> bearer_token(std::string_view field)
{
    constexpr std::string_view kScheme = "Bearer ";
    if (field.size() <= kScheme.size() || !boost::beast::iequals(field.substr(0, kScheme.size()), kScheme))
        return std::nullopt;
    field.remove_prefix(kScheme.size());
    while (!field.empty() && field.front() == ' ')
        field.remove_prefix(1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t'))
        field.remove_suffix(1);
    if (field.empty() || field.find_first_of(" \t") != std::string_view::npos)
        return std::nullopt;
    return field;
}

std::optional<std::string> influx_credential(std::string_view field)
{
    constexpr std::string_view kToken = "Token ";
    constexpr std::string_view kBasic = "Basic ";
    auto scheme_is = [field](std::string_view scheme) {
        return field.size() > scheme.size() && boost::beast::iequals(field.substr(0, scheme.size()), scheme);
    };
    auto copy = [](std::optional<std::string_view> t) {
        return t ? std::optional<std::string>(std::string(*t)) : std::nullopt;
    };
    if (scheme_is(kToken)) // the form of a bearer token; only the scheme's name differs
        return copy(bearer_token("Bearer " + std::string(field.substr(kToken.size()))));
    if (!scheme_is(kBasic))
        return copy(bearer_token(field));
    std::string_view b64 = field.substr(kBasic.size());
    while (!b64.empty() && b64.front() == ' ')
        b64.remove_prefix(1);
    while (!b64.empty() && (b64.back() == ' ' || b64.back() == '\t'))
        b64.remove_suffix(1);
    if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096)
        return std::nullopt;
    std::string plain(b64.size() / 4 * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(plain.data()),
                        reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts the padding's zero bytes as decoded.
    std::size_t len = static_cast<std::size_t>(n);
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '=' && len > 0; --i)
        --len;
    plain.resize(len);
    const auto colon = plain.find(':');
    if (colon == std::string::npos || colon + 1 == plain.size())
        return std::nullopt;
    return plain.substr(colon + 1);
}

} // namespace fleetscope::auth
