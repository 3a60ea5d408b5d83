// SPDX-License-Identifier: GPL-3.0-or-later
// Tokens (core/auth): the token-file parser, SHA-256, constant-time verification, `token add` and
// `operator add`, the Bearer field, which peers count as local, and the operator rule.
#include "core/auth/operator_access.hpp"
#include "core/auth/token_cli.hpp"
#include "core/auth/tokens.hpp"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace fleetscope::auth;
Q_DECLARE_METATYPE(OperatorVerdict)

namespace {

std::string hash_of(const std::string& token)
{
    return to_hex(sha256(token));
}

std::string read_all(const QString& path)
{
    std::ifstream in(path.toStdString(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

class TestTokens : public QObject {
    Q_OBJECT

private slots:
    void sha256KnownAnswers_data();
    void sha256KnownAnswers();
    void parse_data();
    void parse();
    void verify();
    void replaceSwapsEntriesWhole();
    void replaceWhileOtherThreadsVerify();
    void generatedTokensDiffer();
    void addToken();
    void addTokenRefuses();
    void loadNamesFileAndLine();
    void operatorFileSpeaksOfOperators();
    void findNamesTheHolder();
    void bearerToken_data();
    void bearerToken();
    void loopbackPeers_data();
    void loopbackPeers();
    void accessControlIsEitherFile();
    void operatorPolicy_data();
    void operatorPolicy();
    void tokenCommands();
};

void TestTokens::sha256KnownAnswers_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QByteArray>("hex");
    // FIPS 180-2 test vectors.
    QTest::addRow("empty") << QByteArray()
                           << QByteArray("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    QTest::addRow("abc") << QByteArray("abc")
                         << QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    QTest::addRow("two blocks") << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                                << QByteArray(
                                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

void TestTokens::sha256KnownAnswers()
{
    QFETCH(QByteArray, text);
    QFETCH(QByteArray, hex);
    QCOMPARE(QByteArray::fromStdString(to_hex(sha256(text.toStdString()))), hex);
}

void TestTokens::parse_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("entries");      // expected count when valid, -1 when the text must be rejected
    QTest::addColumn<QString>("fragment"); // must appear in the error of a rejected text

    const QByteArray h1 = QByteArray::fromStdString(hash_of("token-1"));
    const QByteArray h2 = QByteArray::fromStdString(hash_of("token-2"));
    const QByteArray upper = h1.toUpper();

    QTest::addRow("empty") << QByteArray() << 0 << "";
    QTest::addRow("comments and blank lines")
        << QByteArray("# tokens\n\n   \n\t# indented comment\n") << 0 << "";
    QTest::addRow("one entry") << "pump-1 " + h1 + "\n" << 1 << "";
    QTest::addRow("no final newline") << "pump-1 " + h1 << 1 << "";
    QTest::addRow("tab separated") << "pump-1\t" + h1 + "\n" << 1 << "";
    QTest::addRow("several blanks and CRLF") << "  pump-1  \t " + h1 + " \r\n" << 1 << "";
    QTest::addRow("upper-case hex") << "pump-1 " + upper + "\n" << 1 << "";
    QTest::addRow("two devices") << "# a\npump-1 " + h1 + "\npump-2 " + h2 + "\n" << 2 << "";
    QTest::addRow("same token for two devices") << "pump-1 " + h1 + "\npump-2 " + h1 + "\n" << 2 << "";
    QTest::addRow("device every allowed char") << "AZaz09._:- " + h1 << 1 << "";
    QTest::addRow("device 128 chars") << QByteArray(128, 'd') + " " + h1 << 1 << "";

    QTest::addRow("device only") << QByteArray("pump-1\n") << -1 << "line 1: expected 'DEVICE SHA256-HEX'";
    QTest::addRow("device only on line 3")
        << QByteArray("# c\n\npump-1\n") << -1 << "line 3: expected 'DEVICE SHA256-HEX'";
    QTest::addRow("third field") << "pump-1 " + h1 + " extra\n"
                                 << -1 << "line 1: expected 'DEVICE SHA256-HEX' and nothing after it";
    QTest::addRow("trailing comment") << "pump-1 " + h1 + " # note\n"
                                      << -1 << "line 1: expected 'DEVICE SHA256-HEX' and nothing after it";
    QTest::addRow("invalid device char")
        << "pump/1 " + h1 + "\n"
        << -1 << "line 1: device id 'pump/1': expected 1 to 128 characters of [A-Za-z0-9._:-]";
    QTest::addRow("device 129 chars") << QByteArray(129, 'd') + " " + h1 << -1 << "line 1: device id";
    QTest::addRow("short hash")
        << QByteArray("pump-1 abcdef\n") << -1
        << "line 1: device 'pump-1': expected the token's SHA-256 as 64 hex digits, got 6 characters";
    QTest::addRow("long hash") << "pump-1 " + h1 + "0\n" << -1 << "got 65 characters";
    QTest::addRow("non-hex hash") << "pump-1 " + h1.left(63) + "g\n"
                                  << -1 << "got a character that is not a hex digit";
    QTest::addRow("clear token is not echoed")
        << QByteArray("pump-1 s3cr3t-token\n") << -1 << "got 12 characters";
    QTest::addRow("duplicate device")
        << "pump-1 " + h1 + "\n# x\npump-1 " + h2 + "\n"
        << -1 << "line 3: device 'pump-1' already has a token on line 1: one token per device";
    QTest::addRow("bad line after good ones") << "pump-1 " + h1 + "\npump-2 " + h2 + "\nbroken\n"
                                              << -1 << "line 3:";
}

void TestTokens::parse()
{
    QFETCH(QByteArray, text);
    QFETCH(int, entries);
    QFETCH(QString, fragment);
    const auto table = TokenTable::parse(text.toStdString());
    const std::string& error = table.error();
    if (entries >= 0) {
        QVERIFY2(table.ok(), error.c_str());
        QCOMPARE(table->size(), static_cast<std::size_t>(entries));
    } else {
        QVERIFY2(!table.ok(), "a bad token file was accepted");
        QVERIFY2(QString::fromStdString(error).contains(fragment), error.c_str());
        QVERIFY2(QString::fromStdString(error).indexOf(QStringLiteral("s3cr3t")) < 0, error.c_str());
    }
}

void TestTokens::verify()
{
    const std::string text = "pump-1 " + hash_of("token-1") + "\npump-2 " + hash_of("token-2") + "\n";
    auto parsed = TokenTable::parse(text);
    QVERIFY2(parsed.ok(), parsed.error().c_str());
    const TokenTable& table = *parsed;
    QVERIFY(table.verify("pump-1", sha256("token-1")));
    QVERIFY(table.verify("pump-2", sha256("token-2")));
    QVERIFY(!table.verify("pump-1", sha256("token-2"))); // bound to its device
    QVERIFY(!table.verify("pump-2", sha256("token-1")));
    QVERIFY(!table.verify("pump-1", sha256("token-1 ")));
    QVERIFY(!table.verify("pump-1", sha256("")));
    QVERIFY(!table.verify("pump-3", sha256("token-1"))); // unknown device
    QVERIFY(!table.verify("pump-3", Digest{}));          // not even the all-zero digest of an absent entry
    QVERIFY(table.contains("pump-1"));
    QVERIFY(!table.contains("pump-3"));
}

void TestTokens::replaceSwapsEntriesWhole()
{
    auto first = TokenTable::parse("pump-1 " + hash_of("one") + "\n");
    QVERIFY2(first.ok(), first.error().c_str());
    TokenTable& table = *first;
    QVERIFY(table.verify("pump-1", sha256("one"))); // this thread now holds the first entries
    auto second = TokenTable::parse("pump-2 " + hash_of("two") + "\npump-3 " + hash_of("three") + "\n");
    QVERIFY2(second.ok(), second.error().c_str());
    TokenTable& fresh = *second;
    table.replace(std::move(fresh));
    QVERIFY(!table.verify("pump-1", sha256("one"))); // gone, even for a thread that looked before
    QVERIFY(table.verify("pump-2", sha256("two")));
    QVERIFY(table.verify("pump-3", sha256("three")));
    QCOMPARE(table.size(), std::size_t{2});
    QCOMPARE(fresh.size(), std::size_t{0}); // NOLINT(bugprone-use-after-move): replace() leaves it empty

    // Two tables used alternately on one thread keep their own entries.
    auto third = TokenTable::parse("valve-1 " + hash_of("v") + "\n");
    QVERIFY2(third.ok(), third.error().c_str());
    const TokenTable& other = *third;
    for (int i = 0; i < 3; ++i) {
        QVERIFY(table.verify("pump-2", sha256("two")));
        QVERIFY(!table.verify("valve-1", sha256("v")));
        QVERIFY(other.verify("valve-1", sha256("v")));
        QVERIFY(!other.verify("pump-2", sha256("two")));
    }
}

void TestTokens::replaceWhileOtherThreadsVerify()
{
    // Generation g holds devices d<g>-0 .. d<g>-7, all with token "t<g>". A reader must always see one whole
    // generation: device 0 and device 7 of the same one, never one of each.
    auto generation = [](int g) {
        std::string text;
        for (int d = 0; d < 8; ++d)
            text += "d" + std::to_string(g) + "-" + std::to_string(d) + " " +
                    hash_of("t" + std::to_string(g)) + "\n";
        auto t = TokenTable::parse(text);
        if (!t)
            qFatal("generation %d does not parse", g);
        return std::move(t).value();
    };
    constexpr int kGenerations = 200;
    std::vector<Digest> digests;
    for (int g = 0; g < kGenerations; ++g)
        digests.push_back(sha256("t" + std::to_string(g)));
    TokenTable table = generation(0);
    std::atomic<bool> stop{false};
    std::atomic<int> torn{0};
    std::atomic<long> checks{0};
    std::atomic<int> started{0};
    std::vector<std::thread> readers;
    // The replacements start once every reader runs, and each reader makes at least one pass, so the readers
    // overlap the replacements even when a loaded machine schedules them late.
    for (int r = 0; r < 3; ++r)
        readers.emplace_back([&] {
            started.fetch_add(1);
            do {
                for (int g = 0; g < kGenerations; ++g) {
                    const std::string prefix = "d" + std::to_string(g) + "-";
                    const bool first = table.verify(prefix + "0", digests[std::size_t(g)]);
                    const bool last = table.contains(prefix + "7");
                    // Generations only move forward: device 0 of g seen before and after a lookup that missed
                    // device 7 of g would mean a table holding part of a generation.
                    if (first && !last && table.contains(prefix + "0"))
                        torn.fetch_add(1);
                    checks.fetch_add(1, std::memory_order_relaxed);
                }
            } while (!stop.load());
        });
    while (started.load() < 3)
        std::this_thread::yield();
    for (int g = 1; g < kGenerations; ++g)
        table.replace(generation(g));
    stop.store(true);
    for (auto& t : readers)
        t.join();
    QCOMPARE(torn.load(), 0);
    QVERIFY(checks.load() > 0);
    QVERIFY(table.verify("d199-7", digests.back()));
    QCOMPARE(table.size(), std::size_t{8});
}

void TestTokens::generatedTokensDiffer()
{
    const std::string a = generate_token();
    const std::string b = generate_token();
    QCOMPARE(a.size(), std::size_t{64});
    QVERIFY(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    QVERIFY(a != b);
}

void TestTokens::addToken()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("tokens"));
    const std::string t1 = add_token(path.toStdString(), "pump-1");
    const std::string t2 = add_token(path.toStdString(), "pump-2");
    QVERIFY(t1 != t2);

    const std::string text = read_all(path);
    // Only the digests are stored: the file never holds a token in clear.
    QVERIFY(text.find(t1) == std::string::npos);
    QVERIFY(text.find(t2) == std::string::npos);
    QVERIFY(text.find("pump-1 " + to_hex(sha256(t1)) + "\n") != std::string::npos);
    QVERIFY(text.find("pump-2 " + to_hex(sha256(t2)) + "\n") != std::string::npos);

    const auto loaded = TokenTable::load(path.toStdString());
    QVERIFY2(loaded.ok(), loaded.error().c_str());
    const TokenTable& table = *loaded;
    QCOMPARE(table.size(), std::size_t{2});
    QVERIFY(table.verify("pump-1", sha256(t1)));
    QVERIFY(table.verify("pump-2", sha256(t2)));
    QVERIFY(!table.verify("pump-2", sha256(t1)));
}

void TestTokens::addTokenRefuses()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("tokens")).toStdString();
    add_token(path, "pump-1");
    const std::string before = read_all(QString::fromStdString(path));
    auto refused = [&](const std::string& device, const char* fragment) {
        try {
            add_token(path, device);
        } catch (const std::runtime_error& e) {
            return std::string(e.what()).find(fragment) != std::string::npos;
        }
        return false;
    };
    QVERIFY(refused("pump-1", "device 'pump-1' already has a token"));
    QVERIFY(refused("bad id", "expected 1 to 128 characters"));
    QVERIFY(refused("", "expected 1 to 128 characters"));
    QCOMPARE(read_all(QString::fromStdString(path)), before);

    // An invalid file is left alone rather than appended to.
    {
        std::ofstream out(path, std::ios::app);
        out << "broken\n";
    }
    QVERIFY(refused("pump-2", "line 3: expected 'DEVICE SHA256-HEX'"));
}

void TestTokens::loadNamesFileAndLine()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("tokens")).toStdString();
    {
        std::ofstream out(path);
        out << "# c\npump-1 " << hash_of("t") << "\npump-2 nothex\n";
    }
    const auto bad = TokenTable::load(path);
    QVERIFY2(!bad.ok(), "a bad token file loaded");
    QVERIFY2(bad.error().find("token-file " + path + ", line 3: device 'pump-2'") != std::string::npos,
             bad.error().c_str());
    const auto missing = TokenTable::load(path + ".missing");
    QVERIFY2(!missing.ok(), "a missing token file loaded");
    QVERIFY2(missing.error().find("cannot be opened") != std::string::npos, missing.error().c_str());
}

void TestTokens::operatorFileSpeaksOfOperators()
{
    const std::string h = hash_of("t");
    const auto table = TokenTable::parse("alice " + h + "\n", TokenFile::operators);
    QVERIFY2(table.ok(), table.error().c_str());
    QCOMPARE(table->size(), std::size_t{1});
    std::string error = TokenTable::parse("alice " + h + "\nalice " + h + "\n", TokenFile::operators).error();
    QVERIFY2(error.find("line 2: operator 'alice' already has a token on line 1: one token per operator") !=
                 std::string::npos,
             error.c_str());
    error = TokenTable::parse("alice\n", TokenFile::operators).error();
    QVERIFY2(error.find("expected 'NAME SHA256-HEX' (the operator name") != std::string::npos, error.c_str());

    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("operators")).toStdString();
    const auto missing = TokenTable::load(path, TokenFile::operators);
    QVERIFY2(!missing.ok(), "a missing operator file loaded");
    QVERIFY2(missing.error().find("operator-token-file " + path +
                                  ": cannot be opened; create it with 'fleetscope-gateway operator add "
                                  "--operator-token-file " +
                                  path + " --name NAME'") != std::string::npos,
             missing.error().c_str());
    const std::string token = add_token(path, "alice", TokenFile::operators);
    QVERIFY(read_all(QString::fromStdString(path)).starts_with("# FleetScope operator tokens"));
    try {
        add_token(path, "alice", TokenFile::operators);
        QFAIL("a second token for one operator");
    } catch (const std::runtime_error& e) {
        QVERIFY2(std::string(e.what()).find("operator 'alice' already has a token") != std::string::npos,
                 e.what());
    }
    const auto loaded = TokenTable::load(path, TokenFile::operators);
    QVERIFY2(loaded.ok(), loaded.error().c_str());
    QCOMPARE(loaded->find(sha256(token)).value_or(""), std::string_view("alice"));
}

void TestTokens::findNamesTheHolder()
{
    const auto parsed = TokenTable::parse("alice " + hash_of("a") + "\nbob " + hash_of("b") + "\ncarol " +
                                              hash_of("c") + "\n",
                                          TokenFile::operators);
    QVERIFY2(parsed.ok(), parsed.error().c_str());
    const TokenTable& table = *parsed;
    QCOMPARE(table.find(sha256("a")).value_or(""), std::string_view("alice"));
    QCOMPARE(table.find(sha256("b")).value_or(""), std::string_view("bob"));
    QCOMPARE(table.find(sha256("c")).value_or(""), std::string_view("carol"));
    QVERIFY(!table.find(sha256("d")));
    QVERIFY(!table.find(Digest{}));
    QVERIFY(!TokenTable{}.find(sha256("a")));
}

void TestTokens::bearerToken_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("token"); // empty: refused
    QTest::addRow("plain") << "Bearer abc"
                           << "abc";
    QTest::addRow("scheme in any case") << "bEARER abc"
                                        << "abc";
    QTest::addRow("extra spaces") << "Bearer   abc \t"
                                  << "abc";
    QTest::addRow("other scheme") << "Basic YWxpY2U6eA=="
                                  << "";
    QTest::addRow("no token") << "Bearer "
                              << "";
    QTest::addRow("only spaces") << "Bearer    "
                                 << "";
    QTest::addRow("two words") << "Bearer abc def"
                               << "";
    QTest::addRow("no space") << "Bearerabc"
                              << "";
    QTest::addRow("empty") << ""
                           << "";
}

void TestTokens::bearerToken()
{
    QFETCH(QString, field);
    QFETCH(QString, token);
    const std::string f = field.toStdString();
    const auto got = bearer_token(f);
    QCOMPARE(QString::fromStdString(std::string(got.value_or(""))), token);
    QCOMPARE(got.has_value(), !token.isEmpty());
}

void TestTokens::loopbackPeers_data()
{
    QTest::addColumn<QString>("address");
    QTest::addColumn<bool>("local");
    QTest::addRow("127.0.0.1") << "127.0.0.1" << true;
    QTest::addRow("all of 127/8") << "127.255.3.9" << true;
    QTest::addRow("::1") << "::1" << true;
    QTest::addRow("mapped 127.0.0.1") << "::ffff:127.0.0.1" << true;
    QTest::addRow("mapped 127.1.2.3") << "::ffff:127.1.2.3" << true;
    QTest::addRow("192.0.2.1") << "192.0.2.1" << false;
    QTest::addRow("mapped 192.0.2.1") << "::ffff:192.0.2.1" << false;
    QTest::addRow("10.0.0.1") << "10.0.0.1" << false;
    QTest::addRow("0.0.0.0") << "0.0.0.0" << false;
    QTest::addRow("::") << "::" << false;
    QTest::addRow("link-local") << "fe80::1" << false;
    QTest::addRow("compatible ::127.0.0.1") << "::127.0.0.1" << false; // deprecated, and no loopback
}

void TestTokens::loopbackPeers()
{
    QFETCH(QString, address);
    QFETCH(bool, local);
    QCOMPARE(is_loopback_peer(boost::asio::ip::make_address(address.toStdString())), local);
}

void TestTokens::accessControlIsEitherFile()
{
    fleetscope::Settings s;
    QVERIFY(!access_control_enabled(s));
    s.token_file = "devices";
    QVERIFY(access_control_enabled(s));
    s.token_file.clear();
    s.operator_token_file = "operators";
    QVERIFY(access_control_enabled(s));
}

void TestTokens::operatorPolicy_data()
{
    QTest::addColumn<bool>("enforced");
    QTest::addColumn<bool>("operators");
    QTest::addColumn<bool>("loopback");
    QTest::addColumn<QString>("authorization"); // "-": no field
    QTest::addColumn<OperatorVerdict>("verdict");
    using V = OperatorVerdict;
    QTest::addRow("off, remote, nothing") << false << false << false << "-" << V::allowed;
    QTest::addRow("off, remote, garbage") << false << true << false << "garbage" << V::allowed;
    QTest::addRow("on, local, nothing") << true << true << true << "-" << V::allowed;
    QTest::addRow("on, local, wrong token") << true << true << true << "Bearer nope" << V::allowed;
    QTest::addRow("on, local, no operators") << true << false << true << "-" << V::allowed;
    QTest::addRow("on, remote, no operators")
        << true << false << false << "Bearer op-token" << V::no_operators;
    QTest::addRow("on, remote, nothing") << true << true << false << "-" << V::token_required;
    QTest::addRow("on, remote, empty field") << true << true << false << "" << V::token_malformed;
    QTest::addRow("on, remote, Basic") << true << true << false << "Basic eDp5" << V::token_malformed;
    QTest::addRow("on, remote, wrong") << true << true << false << "Bearer nope" << V::token_invalid;
    QTest::addRow("on, remote, device's") << true << true << false << "Bearer dev-token" << V::token_invalid;
    QTest::addRow("on, remote, operator's") << true << true << false << "Bearer op-token" << V::allowed;
}

void TestTokens::operatorPolicy()
{
    QFETCH(bool, enforced);
    QFETCH(bool, operators);
    QFETCH(bool, loopback);
    QFETCH(QString, authorization);
    QFETCH(OperatorVerdict, verdict);
    const auto parsed = TokenTable::parse("alice " + hash_of("op-token") + "\n", TokenFile::operators);
    QVERIFY2(parsed.ok(), parsed.error().c_str());
    const TokenTable& table = *parsed;
    const OperatorPolicy policy{enforced, operators ? &table : nullptr};
    const std::string field = authorization.toStdString();
    const auto given = field == "-" ? std::nullopt : std::optional<std::string_view>(field);
    QCOMPARE(policy.check(loopback, given), verdict);
}

void TestTokens::tokenCommands()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("operators")).toStdString();
    const auto run = [](TokenFile kind, std::vector<const char*> args, std::string& out, std::string& err) {
        std::ostringstream o, e;
        const int code = run_token_command(kind, int(args.size()), args.data(), o, e);
        out = o.str();
        err = e.str();
        return code;
    };
    std::string out, err;
    QCOMPARE(run(TokenFile::operators,
                 {"operator", "add", "--operator-token-file", path.c_str(), "--name", "alice"}, out, err),
             0);
    QCOMPARE(out.size(), std::size_t{65}); // 64 hex digits and a newline, on stdout alone
    const std::string token = out.substr(0, 64);
    QVERIFY2(err.find("operator 'alice' added to " + path) != std::string::npos, err.c_str());
    QVERIFY(read_all(QString::fromStdString(path)).find("alice " + hash_of(token) + "\n") !=
            std::string::npos);

    QCOMPARE(run(TokenFile::operators,
                 {"operator", "add", "--operator-token-file", path.c_str(), "--name", "alice"}, out, err),
             1);
    QVERIFY2(err.find("already has a token") != std::string::npos, err.c_str());
    QVERIFY(out.empty());
    QCOMPARE(run(TokenFile::operators, {"operator", "add", "--operator-token-file", path.c_str()}, out, err),
             2);
    QVERIFY2(err.find("--name") != std::string::npos, err.c_str());
    QCOMPARE(run(TokenFile::operators, {"operator", "remove"}, out, err), 2);
    QVERIFY2(err.find("unknown action 'remove'") != std::string::npos, err.c_str());
    QCOMPARE(run(TokenFile::operators, {"operator"}, out, err), 2);
    QVERIFY(out.find("Usage: fleetscope-gateway operator add --operator-token-file FILE --name NAME") == 0);
    QCOMPARE(run(TokenFile::devices, {"token", "add", "--help"}, out, err), 0);
    QVERIFY(out.find("Usage: fleetscope-gateway token add --token-file FILE --device ID") == 0);
    // The device command still writes device tokens, with the device's words.
    const std::string devices = dir.filePath(QStringLiteral("devices")).toStdString();
    QCOMPARE(run(TokenFile::devices, {"token", "add", "--token-file", devices.c_str(), "--device", "pump-1"},
                 out, err),
             0);
    QVERIFY(read_all(QString::fromStdString(devices)).starts_with("# FleetScope device tokens"));
    QVERIFY2(err.find("device 'pump-1'") != std::string::npos, err.c_str());
}

QTEST_GUILESS_MAIN(TestTokens)
#include "test_tokens.moc"
