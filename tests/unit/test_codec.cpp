// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/telemetry/codec.hpp"

#include <QTest>

#include <string>

using fleetscope::telemetry::decode_samples;
using fleetscope::telemetry::DecodeLimits;
using fleetscope::telemetry::valid_identifier;

namespace {

constexpr std::int64_t kNow = 1'732'630'000'999;

QByteArray sample(const QByteArray& device = "pump-17", const QByteArray& metrics = R"({"temp_c":21.5})")
{
    return R"({"device":")" + device + R"(","metrics":)" + metrics + "}";
}

QByteArray array_of(int count)
{
    QByteArray body = "[";
    for (int i = 0; i < count; ++i) {
        body += (i ? "," : "") + sample("d" + QByteArray::number(i));
    }
    return body + "]";
}

QByteArray metrics_of(int count)
{
    QByteArray body = "{";
    for (int i = 0; i < count; ++i) {
        body += (i ? ",\"m" : "\"m") + QByteArray::number(i) + "\":" + QByteArray::number(i);
    }
    return body + "}";
}

// A four-sample array whose last sample (index 3) has `metrics` as given.
QByteArray fourth_sample_with(const QByteArray& metrics)
{
    return "[" + sample() + "," + sample() + "," + sample() + "," + sample("pump-18", metrics) + "]";
}

std::string_view view(const QByteArray& bytes)
{
    return {bytes.constData(), static_cast<std::size_t>(bytes.size())};
}

} // namespace

class TestCodec : public QObject {
    Q_OBJECT

private slots:
    void decode_data();
    void decode();
    void decodedValues();
    void depthLimit();
    void validIdentifier_data();
    void validIdentifier();
};

void TestCodec::decode_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("samples");      // expected count when valid, -1 when the body must be rejected
    QTest::addColumn<QString>("fragment"); // must appear in the error of a rejected body

    const QByteArray chars128(128, 'a');
    const QByteArray chars64(64, 'b');

    // Valid forms.
    QTest::addRow("single object")
        << QByteArray(R"({"device":"pump-17","ts":1732630000123,"metrics":{"temp_c":21.5,"rssi":-67}})") << 1
        << "";
    QTest::addRow("single without ts") << sample() << 1 << "";
    QTest::addRow("array of one") << "[" + sample() + "]" << 1 << "";
    QTest::addRow("array of three") << array_of(3) << 3 << "";
    QTest::addRow("keys in any order") << QByteArray(R"({"metrics":{"a":1},"ts":5,"device":"d"})") << 1 << "";
    QTest::addRow("surrounding whitespace") << " \r\n\t" + sample() + " \n" << 1 << "";
    QTest::addRow("int, negative, zero, exponent values")
        << sample("d", R"({"a":1,"b":-67,"c":0,"d":-0,"e":1.5e3,"f":-2.25E-3,"g":18446744073709551615})") << 1
        << "";
    QTest::addRow("ts zero") << QByteArray(R"({"device":"d","ts":0,"metrics":{"a":1}})") << 1 << "";
    QTest::addRow("ts int64 max") << QByteArray(
                                         R"({"device":"d","ts":9223372036854775807,"metrics":{"a":1}})")
                                  << 1 << "";
    QTest::addRow("device 1 char") << sample("a") << 1 << "";
    QTest::addRow("device 128 chars") << sample(chars128) << 1 << "";
    QTest::addRow("device every allowed char") << sample("AZaz09._:-") << 1 << "";
    QTest::addRow("device with escape") << sample(R"(pump\u002d17)") << 1 << "";
    QTest::addRow("metric name 1 char") << sample("d", R"({"x":1})") << 1 << "";
    QTest::addRow("metric name 64 chars") << sample("d", "{\"" + chars64 + "\":1}") << 1 << "";
    QTest::addRow("exactly max samples") << array_of(1000) << 1000 << "";
    QTest::addRow("exactly max metrics") << sample("d", metrics_of(256)) << 1 << "";

    // The body as a whole.
    QTest::addRow("empty body") << QByteArray() << -1
                                << "empty body: expected a sample object or an array of 1 to 1000";
    QTest::addRow("whitespace only") << QByteArray(" \r\n\t ") << -1 << "empty body";
    QTest::addRow("truncated") << QByteArray(R"({"device":"d","metr)") << -1
                               << "sample 0: malformed JSON at byte 19: incomplete JSON";
    QTest::addRow("missing colon") << QByteArray(R"({"device" "d"})") << -1
                                   << "sample 0: malformed JSON at byte 10: syntax error";
    QTest::addRow("trailing comma") << QByteArray(R"({"device":"d","metrics":{"a":1},})") << -1
                                    << "malformed JSON at byte 32";
    QTest::addRow("comment") << "/* c */" + sample() << -1 << "malformed JSON at byte 0";
    QTest::addRow("trailing garbage") << sample() + " x" << -1 << "trailing data at byte 47";
    QTest::addRow("two values") << sample() + sample() << -1 << "trailing data at byte 46";
    QTest::addRow("number body") << QByteArray("42") << -1
                                 << "expected a sample object or an array of 1 to 1000 sample objects";
    QTest::addRow("string body") << QByteArray(R"("x")") << -1 << "expected a sample object or an array";
    QTest::addRow("null body") << QByteArray("null") << -1 << "expected a sample object or an array";
    QTest::addRow("empty array") << QByteArray("[ ]") << -1
                                 << "empty array: nothing to store; expected 1 to 1000";
    QTest::addRow("array of number") << QByteArray("[1]") << -1 << "sample 0: expected a sample object";
    QTest::addRow("array then array")
        << "[" + sample() + ",[]]" << -1 << "sample 1: expected a sample object";
    QTest::addRow("max samples + 1") << array_of(1001) << -1
                                     << "sample 1000: more than 1000 samples; expected 1 to 1000";
    QTest::addRow("deep nesting") << QByteArray("[[[[[[[[[[[[1]]]]]]]]]]]]") << -1
                                  << "sample 0: expected a sample object";
    QTest::addRow("deep nesting in value") << sample("d", R"({"a":[[[[[[[[[[1]]]]]]]]]]})") << -1
                                           << "sample 0: metrics.a: expected a finite number";

    // Keys of a sample.
    QTest::addRow("unknown key")
        << QByteArray(R"({"device":"d","extra":1,"metrics":{"a":1}})") << -1
        << R"(sample 0: unknown key "extra"; allowed keys are device, ts and metrics)";
    QTest::addRow("unknown key in sample 2") << "[" + sample() + "," + sample() + R"(,{"Device":"d"}])" << -1
                                             << R"(sample 2: unknown key "Device")";
    QTest::addRow("unknown key with control byte")
        << QByteArray("{\"a\\u0001\":1}") << -1 << R"(unknown key "a\x01")";
    QTest::addRow("duplicate device") << QByteArray(R"({"device":"d","device":"e","metrics":{"a":1}})") << -1
                                      << R"(sample 0: duplicate key "device"; each key may appear once)";
    QTest::addRow("duplicate ts") << QByteArray(R"({"device":"d","ts":1,"ts":2,"metrics":{"a":1}})") << -1
                                  << R"(sample 0: duplicate key "ts")";
    QTest::addRow("duplicate metrics") << QByteArray(R"({"device":"d","metrics":{"a":1},"metrics":{"b":1}})")
                                       << -1 << R"(sample 0: duplicate key "metrics")";

    // device
    QTest::addRow("device missing")
        << QByteArray(R"({"metrics":{"a":1}})") << -1
        << "sample 0: missing device: expected a string of 1 to 128 characters of [A-Za-z0-9._:-]";
    QTest::addRow("device empty")
        << sample("") << -1
        << "sample 0: device: expected 1 to 128 characters of [A-Za-z0-9._:-], got an empty string";
    QTest::addRow("device 129 chars")
        << sample(chars128 + "a") << -1
        << "sample 0: device: expected 1 to 128 characters of [A-Za-z0-9._:-], got 129 characters";
    QTest::addRow("device space")
        << sample("pump 17") << -1
        << R"(sample 0: device: expected 1 to 128 characters of [A-Za-z0-9._:-], got "pump 17")";
    QTest::addRow("device slash") << sample("a/b") << -1
                                  << R"(device: expected 1 to 128 characters of [A-Za-z0-9._:-], got "a/b")";
    QTest::addRow("device non-ASCII") << sample("p\xc3\xbcmp") << -1 << R"(got "p\xc3\xbcmp")";
    QTest::addRow("device escaped space") << sample(R"(a\u0020)") << -1 << R"(got "a ")";
    QTest::addRow("device number") << QByteArray(R"({"device":17,"metrics":{"a":1}})") << -1
                                   << "sample 0: device: expected a string of 1 to 128";
    QTest::addRow("device null") << QByteArray(R"({"device":null,"metrics":{"a":1}})") << -1
                                 << "sample 0: device: expected a string";
    QTest::addRow("device bool") << QByteArray(R"({"device":true,"metrics":{"a":1}})") << -1
                                 << "sample 0: device: expected a string";
    QTest::addRow("device object") << QByteArray(R"({"device":{},"metrics":{"a":1}})") << -1
                                   << "sample 0: device: expected a string";
    QTest::addRow("device array") << QByteArray(R"({"device":["d"],"metrics":{"a":1}})") << -1
                                  << "sample 0: device: expected a string";

    // ts
    const QString ts_form =
        "sample 0: ts: expected an integer from 0 to 9223372036854775807 (milliseconds since the Unix epoch)";
    const auto with_ts = [](const QByteArray& ts) {
        return R"({"device":"d","ts":)" + ts + R"(,"metrics":{"a":1}})";
    };
    QTest::addRow("ts fraction") << with_ts("1.5") << -1 << ts_form;
    QTest::addRow("ts integral double") << with_ts("1.0") << -1 << ts_form;
    QTest::addRow("ts exponent") << with_ts("1e3") << -1 << ts_form;
    QTest::addRow("ts string") << with_ts(R"("123")") << -1 << ts_form;
    QTest::addRow("ts negative") << with_ts("-1") << -1 << ts_form;
    QTest::addRow("ts int64 max + 1") << with_ts("9223372036854775808") << -1 << ts_form;
    QTest::addRow("ts beyond uint64") << with_ts("18446744073709551616") << -1 << ts_form;
    QTest::addRow("ts 1e400") << with_ts("1e400") << -1 << ts_form;
    QTest::addRow("ts null") << with_ts("null") << -1 << ts_form;
    QTest::addRow("ts bool") << with_ts("true") << -1 << ts_form;
    QTest::addRow("ts object") << with_ts("{}") << -1 << ts_form;
    QTest::addRow("ts array") << with_ts("[1]") << -1 << ts_form;
    QTest::addRow("ts NaN") << with_ts("NaN") << -1 << ts_form + "; NaN and Infinity are not JSON numbers";

    // metrics
    const QString metrics_form =
        "sample 0: metrics: expected an object of 1 to 256 entries, each a name and a finite number";
    QTest::addRow("metrics missing") << QByteArray(R"({"device":"d","ts":1})") << -1
                                     << "sample 0: missing metrics: expected an object of 1 to 256 entries";
    QTest::addRow("metrics empty") << sample("d", "{}") << -1
                                   << "sample 0: metrics: no entries; expected 1 to 256";
    QTest::addRow("max metrics + 1") << sample("d", metrics_of(257)) << -1
                                     << "sample 0: metrics: more than 256 entries; expected 1 to 256";
    QTest::addRow("metrics number") << sample("d", "1") << -1 << metrics_form;
    QTest::addRow("metrics string") << sample("d", R"("a")") << -1 << metrics_form;
    QTest::addRow("metrics null") << sample("d", "null") << -1 << metrics_form;
    QTest::addRow("metrics array") << sample("d", R"([{"a":1}])") << -1 << metrics_form;
    QTest::addRow("metric name empty")
        << sample("d", R"({"":1})") << -1
        << "sample 0: metrics: expected names of 1 to 64 characters of [A-Za-z0-9._:-], got an empty string";
    QTest::addRow("metric name 65 chars")
        << sample("d", "{\"" + chars64 + "b\":1}") << -1
        << "expected names of 1 to 64 characters of [A-Za-z0-9._:-], got 65 characters";
    QTest::addRow("metric name space")
        << sample("d", R"({"temp c":1})") << -1
        << R"(sample 0: metrics: expected names of 1 to 64 characters of [A-Za-z0-9._:-], got "temp c")";
    QTest::addRow("metric name quote") << sample("d", R"({"a\"b":1})") << -1 << R"(got "a\x22b")";
    QTest::addRow("duplicate metric")
        << sample("d", R"({"temp_c":1,"rssi":2,"temp_c":3})") << -1
        << "sample 0: metrics.temp_c: duplicate name; each metric may appear once per sample";
    QTest::addRow("duplicate metric among many") << sample("d", metrics_of(40).chopped(1) + R"(,"m5":1})")
                                                 << -1 << "sample 0: metrics.m5: duplicate name";

    // Metric values.
    const QString value_form = "sample 0: metrics.temp_c: expected a finite number";
    const auto with_value = [](const QByteArray& v) { return sample("d", R"({"temp_c":)" + v + "}"); };
    QTest::addRow("value true") << with_value("true") << -1 << value_form;
    QTest::addRow("value null") << with_value("null") << -1 << value_form;
    QTest::addRow("value string") << with_value(R"("21.5")") << -1 << value_form;
    QTest::addRow("value object") << with_value("{}") << -1 << value_form;
    QTest::addRow("value array") << with_value("[1]") << -1 << value_form;
    QTest::addRow("value 1e400") << with_value("1e400") << -1 << value_form;
    QTest::addRow("value -1e400") << with_value("-1e400") << -1 << value_form;
    QTest::addRow("value NaN") << with_value("NaN") << -1
                               << value_form + "; NaN and Infinity are not JSON numbers (at byte 34)";
    QTest::addRow("value nan") << with_value("nan") << -1 << value_form + "; NaN and Infinity";
    QTest::addRow("value Infinity") << with_value("Infinity") << -1 << value_form + "; NaN and Infinity";
    QTest::addRow("value -Infinity") << with_value("-Infinity") << -1 << value_form + "; NaN and Infinity";
    QTest::addRow("NaN as body") << QByteArray("NaN") << -1
                                 << "malformed JSON at byte 0: NaN and Infinity are not JSON numbers";
    QTest::addRow("value in sample 3") << fourth_sample_with(R"({"rssi":-67,"temp_c":"hot"})") << -1
                                       << "sample 3: metrics.temp_c: expected a finite number";
    QTest::addRow("NaN in sample 3")
        << fourth_sample_with(R"({"temp_c":NaN})") << -1
        << "sample 3: metrics.temp_c: expected a finite number; NaN and Infinity";

    // Encoding.
    QTest::addRow("invalid UTF-8 in device")
        << sample("p\xffmp") << -1
        << R"(sample 0: malformed JSON at byte 12: syntax error (byte "\xff" is not valid UTF-8 JSON here))";
    QTest::addRow("invalid UTF-8 in key")
        << sample("d", "{\"t\xc3\":1}") << -1 << R"(byte "\xc3" is not valid UTF-8 JSON here)";
    QTest::addRow("overlong UTF-8") << sample("d\xc0\xaf") << -1 << "sample 0: malformed JSON at byte 12";
    QTest::addRow("UTF-16 surrogate as UTF-8") << sample("d\xed\xa0\x80") << -1 << "sample 0: malformed JSON";
    QTest::addRow("raw control char in string")
        << sample("a\tb") << -1 << "sample 0: malformed JSON at byte 12";
}

void TestCodec::decode()
{
    QFETCH(QByteArray, body);
    QFETCH(int, samples);
    QFETCH(QString, fragment);

    const auto result = decode_samples(view(body), kNow, DecodeLimits{});
    const QString error = QString::fromStdString(result.error());
    if (samples >= 0) {
        QVERIFY2(result.ok(), qPrintable(error));
        QCOMPARE(result->size(), static_cast<std::size_t>(samples));
    } else {
        QVERIFY2(!result.ok(), "the body was accepted");
        QVERIFY2(error.contains(fragment), qPrintable("error \"" + error + "\" lacks \"" + fragment + "\""));
    }
}

void TestCodec::decodedValues()
{
    const auto single =
        decode_samples(R"({"device":"pump-17","ts":1732630000123,"metrics":{"temp_c":21.5,"rssi":-67}})",
                       kNow, DecodeLimits{});
    QVERIFY2(single.ok(), single.error().c_str());
    QCOMPARE(single->size(), 1u);
    const auto& s = single->front();
    QCOMPARE(s.device, std::string("pump-17"));
    QCOMPARE(s.ts_ms, std::int64_t{1732630000123});
    QCOMPARE(s.metrics.size(), 2u);
    QCOMPARE(s.metrics[0].name, std::string("temp_c"));
    QCOMPARE(s.metrics[0].value, 21.5);
    QCOMPARE(s.metrics[1].name, std::string("rssi"));
    QCOMPARE(s.metrics[1].value, -67.0);

    const auto array = decode_samples(
        R"([{"device":"a","metrics":{"x":1}},{"device":"b\u002dc","ts":0,"metrics":{"y":2.5e-1,"z":1e3}}])",
        kNow, DecodeLimits{});
    QVERIFY2(array.ok(), array.error().c_str());
    QCOMPARE(array->size(), 2u);
    QCOMPARE((*array)[0].device, std::string("a"));
    QCOMPARE((*array)[0].ts_ms, kNow); // absent ts: the receive time
    QCOMPARE((*array)[0].metrics.size(), 1u);
    QCOMPARE((*array)[0].metrics[0].value, 1.0);
    QCOMPARE((*array)[1].device, std::string("b-c"));
    QCOMPARE((*array)[1].ts_ms, std::int64_t{0});
    QCOMPARE((*array)[1].metrics.size(), 2u);
    QCOMPARE((*array)[1].metrics[0].value, 0.25);
    QCOMPARE((*array)[1].metrics[1].name, std::string("z"));
    QCOMPARE((*array)[1].metrics[1].value, 1000.0);
}

void TestCodec::depthLimit()
{
    // The contract's shape nests three deep (array, sample, metrics); a tighter limit must refuse it.
    DecodeLimits limits;
    limits.max_depth = 2;
    const QByteArray body = "[" + sample() + "]";
    const auto refused = decode_samples(view(body), kNow, limits);
    QVERIFY(!refused.ok());
    QVERIFY2(QString::fromStdString(refused.error()).contains("JSON nested deeper than 2 levels at byte 31"),
             refused.error().c_str());

    limits.max_depth = 3;
    const auto accepted = decode_samples(view(body), kNow, limits);
    QVERIFY2(accepted.ok(), accepted.error().c_str());

    limits.max_samples = 2;
    limits.max_metrics = 1;
    const auto samples = decode_samples(view(array_of(3)), kNow, limits);
    QVERIFY2(
        QString::fromStdString(samples.error()).contains("sample 2: more than 2 samples; expected 1 to 2"),
        samples.error().c_str());
    const auto metrics = decode_samples(view(sample("d", R"({"a":1,"b":2})")), kNow, limits);
    QVERIFY2(QString::fromStdString(metrics.error())
                 .contains("sample 0: metrics: more than 1 entries; expected 1 to 1"),
             metrics.error().c_str());
}

void TestCodec::validIdentifier_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("maxLen");
    QTest::addColumn<bool>("valid");

    QTest::addRow("one char") << QByteArray("a") << 64 << true;
    QTest::addRow("every allowed char") << QByteArray("azAZ09._:-") << 64 << true;
    QTest::addRow("exactly max") << QByteArray(64, 'x') << 64 << true;
    QTest::addRow("max + 1") << QByteArray(65, 'x') << 64 << false;
    QTest::addRow("128 of 128") << QByteArray(128, 'x') << 128 << true;
    QTest::addRow("129 of 128") << QByteArray(129, 'x') << 128 << false;
    QTest::addRow("empty") << QByteArray() << 64 << false;
    QTest::addRow("space") << QByteArray("a b") << 64 << false;
    QTest::addRow("slash") << QByteArray("a/b") << 64 << false;
    QTest::addRow("plus") << QByteArray("a+b") << 64 << false;
    QTest::addRow("quote") << QByteArray("a\"") << 64 << false;
    QTest::addRow("NUL byte") << QByteArray("a\0b", 3) << 64 << false;
    QTest::addRow("non-ASCII") << QByteArray("\xc3\xa9") << 64 << false;
}

void TestCodec::validIdentifier()
{
    QFETCH(QByteArray, text);
    QFETCH(int, maxLen);
    QFETCH(bool, valid);
    QCOMPARE(valid_identifier(view(text), static_cast<std::size_t>(maxLen)), valid);
}

QTEST_APPLESS_MAIN(TestCodec)
#include "test_codec.moc"
