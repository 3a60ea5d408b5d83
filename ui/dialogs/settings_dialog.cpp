// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/dialogs/settings_dialog.hpp"

#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <climits>
#include <type_traits>

namespace fleetscope::ui {

namespace {

QString qstr(std::string_view s)
{
    return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

QString suffixFor(std::string_view unit)
{
    if (unit == "ms")
        return QStringLiteral(" ms");
    if (unit == "bytes")
        return QStringLiteral(" bytes");
    if (unit == "s")
        return QStringLiteral(" s");
    if (unit == "days")
        return QStringLiteral(" days");
    return {};
}

template <class T>
QWidget* makeEditor(const SettingInfo& info, QWidget* parent)
{
    if constexpr (std::is_same_v<T, std::string>) {
        auto* edit = new QLineEdit(parent);
        edit->setPlaceholderText(qstr(info.help));
        return edit;
    } else if constexpr (std::is_same_v<T, std::size_t>) {
        // 64-bit counts: a double spin box is exact up to 2^53, far beyond any sane limit.
        auto* spin = new QDoubleSpinBox(parent);
        spin->setDecimals(0);
        spin->setRange(0, 1e15);
        spin->setGroupSeparatorShown(true);
        spin->setSuffix(suffixFor(info.unit));
        return spin;
    } else {
        static_assert(std::is_same_v<T, int> || std::is_same_v<T, unsigned> || std::is_same_v<T, Millis>,
                      "for_each_setting yields a type the settings dialog has no editor for");
        auto* spin = new QSpinBox(parent);
        spin->setRange(0, INT_MAX);
        spin->setGroupSeparatorShown(true);
        spin->setSuffix(suffixFor(info.unit));
        return spin;
    }
}

template <class T>
void writeEditor(QWidget* editor, const T& field)
{
    if constexpr (std::is_same_v<T, std::string>)
        static_cast<QLineEdit*>(editor)->setText(QString::fromStdString(field));
    else if constexpr (std::is_same_v<T, std::size_t>)
        static_cast<QDoubleSpinBox*>(editor)->setValue(static_cast<double>(field));
    else if constexpr (std::is_same_v<T, Millis>)
        static_cast<QSpinBox*>(editor)->setValue(
            static_cast<int>(std::min<long long>(field.count(), INT_MAX)));
    else
        static_cast<QSpinBox*>(editor)->setValue(static_cast<int>(std::min<long long>(field, INT_MAX)));
}

template <class T>
void readEditor(const QWidget* editor, T& field)
{
    if constexpr (std::is_same_v<T, std::string>)
        field = static_cast<const QLineEdit*>(editor)->text().trimmed().toStdString();
    else if constexpr (std::is_same_v<T, std::size_t>)
        field = static_cast<std::size_t>(static_cast<const QDoubleSpinBox*>(editor)->value());
    else if constexpr (std::is_same_v<T, Millis>)
        field = Millis(static_cast<const QSpinBox*>(editor)->value());
    else
        field = static_cast<T>(static_cast<const QSpinBox*>(editor)->value());
}

} // namespace

QString SettingsDialog::labelFor(const QString& name)
{
    QString label = name;
    label.replace(QLatin1Char('-'), QLatin1Char(' '));
    if (!label.isEmpty())
        label[0] = label[0].toUpper();
    return label;
}

SettingsDialog::SettingsDialog(const Settings& current, bool gatewayRunning, QWidget* parent)
    : QDialog(parent)
    , base_(current)
    , error_(new QLabel(this))
{
    setWindowTitle(tr("Gateway settings"));
    auto* form = new QFormLayout;
    form->setLabelAlignment(Qt::AlignRight);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    Settings probe = current;
    for_each_setting(probe, [&](const SettingInfo& info, auto& field) {
        using T = std::decay_t<decltype(field)>;
        QWidget* editor = makeEditor<T>(info, this);
        const QString name = qstr(info.name);
        editor->setObjectName(name);
        editor->setToolTip(QStringLiteral("--%1: %2").arg(name, qstr(info.help)));
        auto* label = new QLabel(labelFor(name), this);
        label->setToolTip(editor->toolTip());
        if (name == QLatin1String("workers")) {
            // More worker threads than cores only adds context switches (docs/architecture.md, Threads); say
            // so as it is typed.
            auto* row = new QWidget(this);
            auto* h = new QHBoxLayout(row);
            h->setContentsMargins(0, 0, 0, 0);
            h->addWidget(editor);
            workers_warning_ = new QLabel(row);
            workers_warning_->setObjectName(QStringLiteral("warningLabel"));
            h->addWidget(workers_warning_, 1);
            form->addRow(label, row);
            connect(static_cast<QSpinBox*>(editor), &QSpinBox::valueChanged, this,
                    &SettingsDialog::updateWorkersWarning);
        } else {
            form->addRow(label, editor);
        }
        editors_.push_back(editor);
        by_name_.insert(name, editor);
    });

    auto* formHost = new QWidget;
    formHost->setLayout(form);
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(formHost);

    auto* note =
        new QLabel(gatewayRunning ? tr("The gateway is running: saved changes apply when it restarts.")
                                  : tr("Saved changes apply when the gateway starts."),
                   this);
    note->setObjectName(QStringLiteral("mutedLabel"));
    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    error_->hide();

    auto* buttons = new QDialogButtonBox(
        QDialogButtonBox::Save | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &SettingsDialog::restoreDefaults);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addWidget(note);
    layout->addWidget(error_);
    layout->addWidget(buttons);
    resize(640, 720);
    load(current);
}

void SettingsDialog::load(const Settings& s)
{
    Settings copy = s;
    std::size_t i = 0;
    for_each_setting(copy, [&](const SettingInfo&, auto& field) { writeEditor(editors_[i++], field); });
    updateWorkersWarning();
}

Settings SettingsDialog::settings() const
{
    Settings s = base_;
    std::size_t i = 0;
    for_each_setting(s, [&](const SettingInfo&, auto& field) { readEditor(editors_[i++], field); });
    return s;
}

void SettingsDialog::restoreDefaults()
{
    load(Settings{});
}

QString SettingsDialog::errorText() const
{
    return error_->isVisible() || !error_->text().isEmpty() ? error_->text() : QString();
}

void SettingsDialog::updateWorkersWarning()
{
    if (!workers_warning_)
        return;
    const int cores = QThread::idealThreadCount();
    const int workers = static_cast<QSpinBox*>(by_name_.value(QStringLiteral("workers")))->value();
    if (workers > cores)
        workers_warning_->setText(
            tr("⚠ more than the %1 cores here: extra threads only add context switches").arg(cores));
    else if (workers == 0)
        workers_warning_->setText(tr("one per core (%1)").arg(cores));
    else
        workers_warning_->clear();
}

void SettingsDialog::accept()
{
    if (auto valid = validate(settings()); !valid) {
        error_->setText(QString::fromStdString(valid.error()));
        error_->show();
        return;
    }
    error_->clear();
    error_->hide();
    QDialog::accept();
}

} // namespace fleetscope::ui
