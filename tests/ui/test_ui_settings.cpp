// SPDX-License-Identifier: GPL-3.0-or-later
// Settings persistence through QSettings (in a temporary location) and the generated settings dialog.
#include "core/settings.hpp"
#include "ui/dialogs/settings_dialog.hpp"
#include "ui/dialogs/settings_io.hpp"

#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

int settingCount()
{
    Settings s;
    int n = 0;
    for_each_setting(s, [&](const SettingInfo&, auto&) { ++n; });
    return n;
}

Settings unusual()
{
    Settings s;
    s.listen = "0.0.0.0:9099";
    s.backlog = 123;
    s.max_connections = 5'000'000'000ULL; // beyond 32 bits on purpose
    s.workers = 3;
    s.park_after = Millis(1234);
    s.idle_timeout = Millis(99'000);
    s.db_path = "/tmp/some where/fleet.db";
    s.stale_after = Millis(5'000);
    s.retry_after_seconds = 7;
    return s;
}

} // namespace

class TestUiSettings : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip();
    void absentKeysKeepDefaults();
    void dialogHasOneRowPerSetting();
    void dialogEditorsFollowFieldTypes_data();
    void dialogEditorsFollowFieldTypes();
    void dialogRoundTripsValues();
    void dialogRefusesInvalid();
    void dialogWarnsAboveCoreCount();
};

void TestUiSettings::roundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath(QStringLiteral("fleetscope.ini"));
    const Settings written = unusual();
    {
        QSettings store(file, QSettings::IniFormat);
        saveSettings(store, written);
        store.sync();
        QCOMPARE(store.status(), QSettings::NoError);
    }
    QSettings store(file, QSettings::IniFormat);
    const Settings read = loadSettings(store);
    QCOMPARE(describeSettings(read), describeSettings(written));
    QCOMPARE(read.max_connections, written.max_connections);
    QCOMPARE(read.db_path, written.db_path);
    QCOMPARE(read.idle_timeout, written.idle_timeout);
}

void TestUiSettings::absentKeysKeepDefaults()
{
    QTemporaryDir dir;
    QSettings store(dir.filePath(QStringLiteral("partial.ini")), QSettings::IniFormat);
    store.setValue(QStringLiteral("gateway/backlog"), 77);
    store.setValue(QStringLiteral("gateway/workers"), QStringLiteral("not a number"));
    const Settings read = loadSettings(store);
    QCOMPARE(read.backlog, 77);
    QCOMPARE(read.workers, Settings{}.workers); // unreadable value: default kept
    QCOMPARE(read.listen, Settings{}.listen);
    QCOMPARE(read.stale_after, Settings{}.stale_after);
}

void TestUiSettings::dialogHasOneRowPerSetting()
{
    SettingsDialog dialog(Settings{}, false);
    QCOMPARE(dialog.rowCount(), settingCount());
    Settings s;
    for_each_setting(s, [&](const SettingInfo& info, auto&) {
        QVERIFY2(
            dialog.editorFor(QString::fromLatin1(info.name.data(), static_cast<qsizetype>(info.name.size()))),
            info.name.data());
    });
}

void TestUiSettings::dialogEditorsFollowFieldTypes_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("className");
    QTest::addColumn<QString>("suffix");
    QTest::addRow("string") << "listen"
                            << "QLineEdit"
                            << "";
    QTest::addRow("int") << "backlog"
                         << "QSpinBox"
                         << "";
    QTest::addRow("unsigned") << "workers"
                              << "QSpinBox"
                              << "";
    QTest::addRow("size_t") << "max-connections"
                            << "QDoubleSpinBox"
                            << "";
    QTest::addRow("size_t bytes") << "max-body-bytes"
                                  << "QDoubleSpinBox"
                                  << " bytes";
    QTest::addRow("Millis") << "idle-timeout"
                            << "QSpinBox"
                            << " ms";
}

void TestUiSettings::dialogEditorsFollowFieldTypes()
{
    QFETCH(QString, name);
    QFETCH(QString, className);
    QFETCH(QString, suffix);
    SettingsDialog dialog(Settings{}, false);
    QWidget* editor = dialog.editorFor(name);
    QVERIFY(editor);
    QCOMPARE(QString::fromLatin1(editor->metaObject()->className()), className);
    if (auto* spin = qobject_cast<QSpinBox*>(editor))
        QCOMPARE(spin->suffix(), suffix);
    if (auto* spin = qobject_cast<QDoubleSpinBox*>(editor))
        QCOMPARE(spin->suffix(), suffix);
}

void TestUiSettings::dialogRoundTripsValues()
{
    const Settings original = unusual();
    SettingsDialog dialog(original, true);
    QCOMPARE(describeSettings(dialog.settings()), describeSettings(original));
    static_cast<QSpinBox*>(dialog.editorFor(QStringLiteral("backlog")))->setValue(2048);
    static_cast<QLineEdit*>(dialog.editorFor(QStringLiteral("listen")))
        ->setText(QStringLiteral("127.0.0.1:0"));
    const Settings edited = dialog.settings();
    QCOMPARE(edited.backlog, 2048);
    QCOMPARE(edited.listen, std::string("127.0.0.1:0"));
    QCOMPARE(edited.max_connections, original.max_connections);
    dialog.restoreDefaults();
    QCOMPARE(describeSettings(dialog.settings()), describeSettings(Settings{}));
}

void TestUiSettings::dialogRefusesInvalid()
{
    SettingsDialog dialog(Settings{}, false);
    dialog.show();
    static_cast<QLineEdit*>(dialog.editorFor(QStringLiteral("listen")))->setText(QStringLiteral("no-port"));
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
    QVERIFY(dialog.isVisible());
    QVERIFY2(dialog.errorText().contains(QStringLiteral("HOST:PORT")), qPrintable(dialog.errorText()));
    static_cast<QLineEdit*>(dialog.editorFor(QStringLiteral("listen")))
        ->setText(QStringLiteral("127.0.0.1:8080"));
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
}

void TestUiSettings::dialogWarnsAboveCoreCount()
{
    SettingsDialog dialog(Settings{}, false);
    auto* workers = static_cast<QSpinBox*>(dialog.editorFor(QStringLiteral("workers")));
    auto* warning = dialog.findChild<QLabel*>(QStringLiteral("warningLabel"));
    QVERIFY(warning);
    workers->setValue(QThread::idealThreadCount() + 1);
    QVERIFY(warning->text().contains(QStringLiteral("cores")));
    workers->setValue(1);
    QVERIFY(warning->text().isEmpty());
}

QTEST_MAIN(TestUiSettings)
#include "test_ui_settings.moc"
