// SPDX-License-Identifier: GPL-3.0-or-later
// The headless gateway as a service (issue 15), end to end with the real fleetscope-gateway binary:
// - --config FILE: its settings apply, a flag overrides the same key, a misspelt key stops the start;
// - SIGHUP rereads the token file and the alert rules while devices hold keep-alive connections: the
//   connections stay open, a new token works on them at once, and a bad file keeps the old one, saying why.
#include "integration/program_run.hpp"
#include "support/http_client.hpp"

#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <memory>
#include <vector>

using namespace fleetscope::testing;
namespace json = boost::json;

namespace {

constexpr int kHeldConnections = 16;

void write_text(const QString& path, const std::string& text)
{
    std::ofstream(path.toStdString(), std::ios::binary | std::ios::trunc) << text;
}

std::string bearer(const std::string& token)
{
    return "Authorization: Bearer " + token + "\r\n";
}

/// The status of one POST of `device` with `token` on `c`, or 0 when the connection failed.
unsigned post_as(HttpClient& c, const std::string& device, const std::string& token, double value = 1)
{
    auto r = c.request(post_telemetry(sample_json(device, 1'700'000'000'000, value), bearer(token)));
    return r ? r->result_int() : 0;
}

/// `fleetscope-gateway token add` (or `operator add`): the printed token, or empty.
std::string add_token(const QString& token_file, const QString& device, bool operator_token = false)
{
    ProgramRun run;
    const QStringList args =
        operator_token ? QStringList{"operator", "add", "--operator-token-file", token_file, "--name", device}
                       : QStringList{"token", "add", "--token-file", token_file, "--device", device};
    if (!run.start(ProgramRun::program(QStringLiteral("fleetscope-gateway")), args).isEmpty() ||
        !run.wait_finished() || run.process().exitCode() != 0)
        return {};
    return run.out().trimmed().toStdString();
}

/// The port of "listening on 127.0.0.1:PORT", or 0.
std::uint16_t wait_listening(ProgramRun& run)
{
    static const QRegularExpression kListening(QStringLiteral(R"(listening on 127\.0\.0\.1:(\d+)\n)"));
    const auto m = run.wait_for(kListening);
    return m.hasMatch() ? static_cast<std::uint16_t>(m.captured(1).toUInt()) : 0;
}

bool alert_active(HttpClient& c, std::string_view rule, std::string_view subject)
{
    auto r = c.request(get("/v1/alerts"));
    if (!r || r->result_int() != 200)
        return false;
    boost::system::error_code ec;
    const json::value v = json::parse(r->body(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("active"))
        return false;
    for (const auto& a : v.at("active").as_array())
        if (a.at("rule").as_string() == rule && a.at("subject").as_string() == subject)
            return true;
    return false;
}

/// Polls GET /v1/alerts for up to 2 s.
bool wait_alert(HttpClient& c, std::string_view rule, std::string_view subject)
{
    for (int i = 0; i < 200; ++i) {
        if (alert_active(c, rule, subject))
            return true;
        std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
}

} // namespace

class TestService : public QObject {
    Q_OBJECT
private slots:
    void init();
    void configFileAndFlags();
    void configFileWithUnknownKeyStopsTheStart();
    void sighupReloadsTokensAndRulesKeepingConnections();

private:
    QString gateway_;
    std::unique_ptr<QTemporaryDir> dir_;
    QString path(const char* name) const { return dir_->filePath(QString::fromLatin1(name)); }
};

void TestService::init()
{
    gateway_ = ProgramRun::program(QStringLiteral("fleetscope-gateway"));
    if (gateway_.isEmpty())
        QSKIP("fleetscope-gateway is not built in FLEETSCOPE_BIN_DIR: run through ctest");
    dir_ = std::make_unique<QTemporaryDir>();
    QVERIFY(dir_->isValid());
}

void TestService::configFileAndFlags()
{
    write_text(path("gateway.conf"), "# the test's gateway\n"
                                     "listen = 127.0.0.1:0\n"
                                     "db = " +
                                         path("config.db").toStdString() +
                                         "\n"
                                         "workers = 2\n"
                                         "max-metrics = 1   # one metric per sample\n"
                                         "max-samples = 2\n");
    ProgramRun run;
    QCOMPARE(run.start(gateway_, {"--config", path("gateway.conf"), "--max-samples", "3"}), QString());
    const auto port = wait_listening(run);
    QVERIFY2(port != 0, qPrintable(run.err()));
    QVERIFY2(run.err().contains(QStringLiteral("database ") + path("config.db")), qPrintable(run.err()));
    QVERIFY2(run.err().contains(QStringLiteral("2 workers")), qPrintable(run.err()));

    HttpClient c;
    QVERIFY(c.connect(port));
    // max-samples: the flag's 3 beats the file's 2.
    const std::string three = "[" + sample_json("cfg-1", 1, 1) + "," + sample_json("cfg-1", 2, 2) + "," +
                              sample_json("cfg-1", 3, 3) + "]";
    auto r = c.request(post_telemetry(three));
    QVERIFY(r);
    QCOMPARE(r->result_int(), 204u);
    // max-metrics: the file's 1 applies.
    r = c.request(post_telemetry(R"({"device":"cfg-1","metrics":{"a":1,"b":2}})"));
    QVERIFY(r);
    QCOMPARE(r->result_int(), 400u);
    QVERIFY2(r->body().find("more than 1 entries") != std::string::npos, r->body().c_str());
    c.close();

    run.send_signal(SIGTERM);
    QVERIFY(run.wait_finished());
    QCOMPARE(run.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(run.process().exitCode(), 0);
}

void TestService::configFileWithUnknownKeyStopsTheStart()
{
    write_text(path("typo.conf"), "listen = 127.0.0.1:0\nwokers = 2\n");
    ProgramRun run;
    QCOMPARE(run.start(gateway_, {"--config", path("typo.conf"), "--db", path("typo.db")}), QString());
    QVERIFY(run.wait_finished());
    QCOMPARE(run.process().exitCode(), 2);
    QVERIFY2(run.err().contains(path("typo.conf")) && run.err().contains(QStringLiteral("wokers")),
             qPrintable(run.err()));
    QVERIFY2(run.err().startsWith(QStringLiteral("fleetscope-gateway: error: ")), qPrintable(run.err()));
    QVERIFY(!QFileInfo::exists(path("typo.db"))); // nothing started
}

void TestService::sighupReloadsTokensAndRulesKeepingConnections()
{
    const QString tokens = path("tokens");
    const QString rules = path("alerts.json");
    const std::string token_a = add_token(tokens, QStringLiteral("dev-a"));
    QVERIFY2(!token_a.empty(), "fleetscope-gateway token add failed");
    QVERIFY(!add_token(path("operators"), QStringLiteral("alice"), true).empty());
    write_text(path("service.conf"),
               "listen = 127.0.0.1:0\nworkers = 2\ndb = " + path("svc.db").toStdString() + "\ntoken-file = " +
                   tokens.toStdString() + "\noperator-token-file = " + path("operators").toStdString() +
                   "\nalert-rules = " + rules.toStdString() + "\n");
    ProgramRun run;
    QCOMPARE(run.start(gateway_, {"--config", path("service.conf")}), QString());
    const auto port = wait_listening(run);
    QVERIFY2(port != 0, qPrintable(run.err()));
    QVERIFY2(run.err().contains(QStringLiteral("0 alert rules")), qPrintable(run.err()));

    // Devices hold keep-alive connections; every one posted once with dev-a's token.
    std::vector<std::unique_ptr<HttpClient>> held;
    for (int i = 0; i < kHeldConnections; ++i) {
        held.push_back(std::make_unique<HttpClient>());
        QVERIFY(held.back()->connect(port));
        QCOMPARE(post_as(*held.back(), "dev-a", token_a), 204u);
    }
    const std::string token_b = add_token(tokens, QStringLiteral("dev-b"));
    QVERIFY(!token_b.empty());
    {
        HttpClient fresh;
        QVERIFY(fresh.connect(port));
        QCOMPARE(post_as(fresh, "dev-b", token_b), 401u); // not loaded yet
    }
    write_text(rules, R"({"rules":[{"name":"hot","kind":"metric","severity":"warning","devices":"*",)"
                      R"("metric":"v","condition":"above","threshold":80}]})");

    run.send_signal(SIGHUP);
    static const QRegularExpression kTokensReloaded(
        QStringLiteral(R"(info: SIGHUP: reloaded token-file \S+: 2 device tokens\n)"));
    static const QRegularExpression kRulesReloaded(
        QStringLiteral(R"(info: SIGHUP: reloaded alert rules \S+: 1 alert rules\n)"));
    QVERIFY2(run.wait_for(kTokensReloaded, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));
    QVERIFY2(run.wait_for(kRulesReloaded, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));
    static const QRegularExpression kOperatorsReloaded(
        QStringLiteral(R"(info: SIGHUP: reloaded operator-token-file \S+: 1 operator tokens\n)"));
    QVERIFY2(run.wait_for(kOperatorsReloaded, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));

    // On every held connection both tokens work; then dev-b posts 99 and the rule "hot" must raise (posts of
    // value 1 clear it again).
    auto both_tokens_and_rule_in_force = [&] {
        for (auto& c : held) {
            QCOMPARE(post_as(*c, "dev-b", token_b), 204u);
            QCOMPARE(post_as(*c, "dev-a", token_a), 204u);
        }
        QCOMPARE(post_as(*held.front(), "dev-b", token_b, 99), 204u);
        QVERIFY2(wait_alert(*held.back(), "hot", "dev-b"), "the rule 'hot' did not raise");
    };
    // The same connections: dev-b's new token works at once, dev-a's still does, and the new rule is live.
    both_tokens_and_rule_in_force();
    if (QTest::currentTestFailed())
        return;

    // Bad files: each is refused with its reason, and what was in force stays.
    std::string with_garbage;
    {
        std::ifstream in(tokens.toStdString());
        std::ostringstream text;
        text << in.rdbuf();
        with_garbage = text.str() + "dev-c not-a-digest\n";
    }
    write_text(tokens, with_garbage);
    write_text(rules, R"({"rules":[{"name":"hot","kind":"metric","metric":"v","condition":"sideways"}]})");
    run.send_signal(SIGHUP);
    static const QRegularExpression kTokensKept(QStringLiteral(
        R"(error: SIGHUP: token-file \S+, line \d+: [^\n]*; kept what was in force \(2 device tokens\)\n)"));
    static const QRegularExpression kRulesKept(QStringLiteral(
        R"(error: SIGHUP: alert rules file \S+: [^\n]*; kept what was in force \(1 alert rules\)\n)"));
    QVERIFY2(run.wait_for(kTokensKept, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));
    QVERIFY2(run.wait_for(kRulesKept, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));
    both_tokens_and_rule_in_force();
    if (QTest::currentTestFailed())
        return;

    // A token removed from the file stops working after the next SIGHUP.
    const auto line_b = with_garbage.find("dev-b ");
    write_text(tokens, with_garbage.substr(line_b, with_garbage.find('\n', line_b) - line_b + 1));
    run.send_signal(SIGHUP);
    static const QRegularExpression kOneToken(
        QStringLiteral(R"(info: SIGHUP: reloaded token-file \S+: 1 device tokens\n)"));
    QVERIFY2(run.wait_for(kOneToken, ProgramRun::Stream::err).hasMatch(), qPrintable(run.err()));
    QCOMPARE(post_as(*held.front(), "dev-b", token_b), 204u);
    {
        HttpClient fresh;
        QVERIFY(fresh.connect(port));
        QCOMPARE(post_as(fresh, "dev-a", token_a), 401u);
    }
    // Nothing was dropped: every held connection still answers.
    for (auto& c : held) {
        auto r = c->request(get("/healthz"));
        QVERIFY(r);
        QCOMPARE(r->result_int(), 200u);
    }

    held.clear();
    run.send_signal(SIGTERM);
    QVERIFY(run.wait_finished());
    QCOMPARE(run.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(run.process().exitCode(), 0);
}

QTEST_GUILESS_MAIN(TestService)
#include "test_service.moc"
