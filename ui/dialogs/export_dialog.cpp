// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/dialogs/export_dialog.hpp"

#include "core/store/capture.hpp"

#include <QButtonGroup>
#include <QComboBox>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace fleetscope::ui {

namespace {

struct FormatOption {
    store::ExportFormat format;
    const char* label;
};

constexpr FormatOption kFormats[] = {
    {store::ExportFormat::capture, QT_TRANSLATE_NOOP("ExportDialog", "FleetScope capture (.fleetscope)")},
    {store::ExportFormat::csv, QT_TRANSLATE_NOOP("ExportDialog", "CSV (.csv)")},
    {store::ExportFormat::jsonl, QT_TRANSLATE_NOOP("ExportDialog", "JSON Lines (.jsonl)")},
};

QString extensionOf(store::ExportFormat f)
{
    return QString::fromLatin1(store::file_extension(f).data(),
                               static_cast<qsizetype>(store::file_extension(f).size()));
}

QString sessionText(const store::SessionRow& s)
{
    const QString from =
        QDateTime::fromMSecsSinceEpoch(s.started_at).toString(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
    const QString to = s.ended_at
                           ? QDateTime::fromMSecsSinceEpoch(*s.ended_at).toString(QStringLiteral("hh:mm:ss"))
                           : QObject::tr("running");
    QString text = QObject::tr("#%1  %2 – %3").arg(s.id).arg(from, to);
    if (s.end_reason == "crash")
        text += QObject::tr("  (crashed)");
    return text;
}

} // namespace

ExportDialog::ExportDialog(const QString& dbPath, const QStringList& selectedDevices,
                           const QStringList& metrics, std::int64_t from_ms, std::int64_t to_ms,
                           QWidget* parent)
    : QDialog(parent)
    , db_path_(dbPath)
    , selected_devices_(selectedDevices)
    , format_(new QComboBox(this))
    , all_time_(new QRadioButton(tr("Everything"), this))
    , by_session_(new QRadioButton(tr("Session"), this))
    , by_range_(new QRadioButton(tr("Time range"), this))
    , session_(new QComboBox(this))
    , from_(new QDateTimeEdit(this))
    , to_(new QDateTimeEdit(this))
    , all_devices_(new QRadioButton(tr("All devices"), this))
    , by_glob_(new QRadioButton(tr("Matching"), this))
    , by_selection_(
          new QRadioButton(tr("The %n selected row(s)", "", static_cast<int>(selectedDevices.size())), this))
    , globs_(new QLineEdit(this))
    , metrics_(new QListWidget(this))
    , output_(new QLineEdit(this))
    , error_(new QLabel(this))
{
    setWindowTitle(tr("Export"));
    setObjectName(QStringLiteral("exportDialog"));
    for (const FormatOption& f : kFormats)
        format_->addItem(tr(f.label), static_cast<int>(f.format));
    format_->setObjectName(QStringLiteral("exportFormat"));

    auto* source = new QLabel(tr("From %1").arg(QDir::toNativeSeparators(dbPath)), this);
    source->setObjectName(QStringLiteral("mutedLabel"));
    source->setWordWrap(true);

    auto* timeGroup = new QGroupBox(tr("Time"), this);
    auto* timeButtons = new QButtonGroup(this);
    for (QRadioButton* b : {all_time_, by_session_, by_range_})
        timeButtons->addButton(b);
    for (QDateTimeEdit* edit : {from_, to_}) {
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
        edit->setCalendarPopup(true);
    }
    from_->setDateTime(QDateTime::fromMSecsSinceEpoch(from_ms));
    to_->setDateTime(QDateTime::fromMSecsSinceEpoch(to_ms));
    session_->setPlaceholderText(tr("reading sessions…"));
    auto* timeLayout = new QGridLayout(timeGroup);
    timeLayout->addWidget(all_time_, 0, 0);
    timeLayout->addWidget(by_session_, 1, 0);
    timeLayout->addWidget(session_, 1, 1, 1, 3);
    timeLayout->addWidget(by_range_, 2, 0);
    timeLayout->addWidget(from_, 2, 1);
    timeLayout->addWidget(new QLabel(QStringLiteral("–"), this), 2, 2);
    timeLayout->addWidget(to_, 2, 3);
    all_time_->setChecked(true);

    auto* deviceGroup = new QGroupBox(tr("Devices"), this);
    auto* deviceButtons = new QButtonGroup(this);
    for (QRadioButton* b : {all_devices_, by_glob_, by_selection_})
        deviceButtons->addButton(b);
    globs_->setPlaceholderText(tr("globs, e.g. pump-* sensor-1?"));
    globs_->setToolTip(tr("Device names separated by spaces or commas; * matches any run, ? one character, "
                          "[a-z] a set"));
    auto* deviceLayout = new QGridLayout(deviceGroup);
    deviceLayout->addWidget(all_devices_, 0, 0);
    deviceLayout->addWidget(by_glob_, 1, 0);
    deviceLayout->addWidget(globs_, 1, 1);
    deviceLayout->addWidget(by_selection_, 2, 0, 1, 2);
    by_selection_->setVisible(!selectedDevices.isEmpty());
    (selectedDevices.isEmpty() ? all_devices_ : by_selection_)->setChecked(true);

    auto* metricGroup = new QGroupBox(tr("Metrics (none ticked: every metric)"), this);
    for (const QString& m : metrics) {
        auto* item = new QListWidgetItem(m, metrics_);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Unchecked);
    }
    metrics_->setMaximumHeight(140);
    auto* metricLayout = new QVBoxLayout(metricGroup);
    metricLayout->addWidget(metrics_);

    auto* browse = new QPushButton(tr("Browse…"), this);
    auto* outputRow = new QHBoxLayout;
    outputRow->addWidget(output_, 1);
    outputRow->addWidget(browse);
    output_->setObjectName(QStringLiteral("exportOutput"));

    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #e5534b"));

    auto* form = new QFormLayout;
    form->addRow(tr("Format"), format_);
    form->addRow(tr("Save to"), outputRow);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Export"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(source);
    layout->addLayout(form);
    layout->addWidget(timeGroup);
    layout->addWidget(deviceGroup);
    layout->addWidget(metricGroup);
    layout->addWidget(error_);
    layout->addWidget(buttons);

    const QString base = QFileInfo(dbPath).completeBaseName();
    output_->setText(
        QDir(QDir::homePath())
            .filePath(base + QStringLiteral("-export") + extensionOf(store::ExportFormat::capture)));
    connect(format_, &QComboBox::currentIndexChanged, this, &ExportDialog::formatChanged);
    connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
    for (QRadioButton* b : {all_time_, by_session_, by_range_, all_devices_, by_glob_, by_selection_})
        connect(b, &QRadioButton::toggled, this, &ExportDialog::updateEnabled);
    updateEnabled();
    resize(560, sizeHint().height());
}

void ExportDialog::setSessions(const std::vector<store::SessionRow>& sessions)
{
    sessions_ = sessions;
    session_->clear();
    session_->setPlaceholderText(sessions.empty() ? tr("no sessions recorded") : QString());
    for (const store::SessionRow& s : sessions)
        session_->addItem(sessionText(s), static_cast<qlonglong>(s.id));
    session_->setCurrentIndex(session_->count() - 1);
    updateEnabled();
}

void ExportDialog::updateEnabled()
{
    by_session_->setEnabled(session_->count() > 0);
    session_->setEnabled(by_session_->isChecked());
    from_->setEnabled(by_range_->isChecked());
    to_->setEnabled(by_range_->isChecked());
    globs_->setEnabled(by_glob_->isChecked());
}

void ExportDialog::setFormat(store::ExportFormat format)
{
    format_->setCurrentIndex(format_->findData(static_cast<int>(format)));
}

void ExportDialog::setOutputPath(const QString& path)
{
    output_->setText(path);
}

void ExportDialog::setDeviceGlobs(const QString& globs)
{
    by_glob_->setChecked(true);
    globs_->setText(globs);
}

void ExportDialog::formatChanged()
{
    // Keep the chosen name and folder, with the extension of the new format.
    const auto format = static_cast<store::ExportFormat>(format_->currentData().toInt());
    QFileInfo info(output_->text());
    if (output_->text().isEmpty())
        return;
    QString name = info.fileName();
    for (const FormatOption& f : kFormats) {
        const QString ext = extensionOf(f.format);
        if (name.endsWith(ext, Qt::CaseInsensitive)) {
            name.chop(ext.size());
            break;
        }
    }
    output_->setText(info.dir().filePath(name + extensionOf(format)));
}

void ExportDialog::browse()
{
    const auto format = static_cast<store::ExportFormat>(format_->currentData().toInt());
    const QString ext = extensionOf(format);
    const QString path = QFileDialog::getSaveFileName(this, tr("Export to"), output_->text(),
                                                      tr("%1 (*%2)").arg(format_->currentText(), ext));
    if (!path.isEmpty())
        output_->setText(path.endsWith(ext, Qt::CaseInsensitive) ? path : path + ext);
}

ExportRequest ExportDialog::request() const
{
    ExportRequest r;
    r.db_path = db_path_;
    r.format = static_cast<store::ExportFormat>(format_->currentData().toInt());
    r.out_path = output_->text().trimmed();
    if (by_session_->isChecked() && session_->currentIndex() >= 0)
        r.query.session = session_->currentData().toLongLong();
    if (by_range_->isChecked()) {
        r.query.from = from_->dateTime().toMSecsSinceEpoch();
        r.query.to = to_->dateTime().toMSecsSinceEpoch();
    }
    if (by_glob_->isChecked())
        for (const QString& g :
             globs_->text().split(QRegularExpression(QStringLiteral("[\\s,]+")), Qt::SkipEmptyParts))
            r.query.devices.push_back(g.toStdString());
    if (by_selection_->isChecked())
        for (const QString& d : selected_devices_) {
            // A selected id is matched exactly: its glob characters are escaped as one-character sets.
            std::string exact;
            for (QChar c : d)
                exact += (c == QLatin1Char('*') || c == QLatin1Char('?') || c == QLatin1Char('['))
                             ? QStringLiteral("[%1]").arg(c).toStdString()
                             : QString(c).toStdString();
            r.query.devices.push_back(exact);
        }
    for (int i = 0; i < metrics_->count(); ++i)
        if (metrics_->item(i)->checkState() == Qt::Checked)
            r.query.metrics.push_back(metrics_->item(i)->text().toStdString());
    return r;
}

QString ExportDialog::validationError() const
{
    const ExportRequest r = request();
    if (r.out_path.isEmpty())
        return tr("Choose a file to export to");
    if (QFileInfo(r.out_path).absoluteFilePath() == QFileInfo(db_path_).absoluteFilePath())
        return tr("The export would overwrite the database it reads; choose another file");
    if (by_session_->isChecked() && !r.query.session)
        return tr("Choose a session, or another time choice");
    if (r.query.from && r.query.to && *r.query.from > *r.query.to)
        return tr("The time range ends before it starts");
    if (by_glob_->isChecked() && r.query.devices.empty())
        return tr("Type at least one device glob, e.g. pump-*, or choose all devices");
    return {};
}

void ExportDialog::accept()
{
    const QString error = validationError();
    error_->setText(error);
    if (error.isEmpty())
        QDialog::accept();
}

} // namespace fleetscope::ui
