// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/dialogs/rule_editor_dialog.hpp"

#include "ui/models/alert_models.hpp"
#include "ui/theme/theme.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QVBoxLayout>

#include <cmath>
#include <optional>

namespace fleetscope::ui {

namespace {

using alerts::Condition;
using alerts::RuleKind;
using alerts::Severity;
using alerts::Signal;

constexpr RuleKind kKinds[] = {RuleKind::metric, RuleKind::stale, RuleKind::gateway};
constexpr Severity kSeverities[] = {Severity::info, Severity::warning, Severity::critical};
constexpr Condition kConditions[] = {Condition::above, Condition::below, Condition::outside,
                                     Condition::rate_above, Condition::rate_below};
constexpr Signal kSignals[] = {Signal::listen_queue_share, Signal::listen_drops_rate, Signal::store_queue,
                               Signal::ready_queue,        Signal::http_5xx_rate,     Signal::http_4xx_rate,
                               Signal::connections_share};

QString text(std::string_view s)
{
    return QString::fromLatin1(s.data(), static_cast<qsizetype>(s.size()));
}

// Numbers are written and read in the C locale, as in the rules file, so "0.75" means the same everywhere.
QString numberText(double v)
{
    return QLocale::c().toString(v, 'g', 12);
}

QString numberText(const std::optional<double>& v)
{
    return v ? numberText(*v) : QString();
}

template <class Enum, std::size_t N>
void fillCombo(QComboBox* combo, const Enum (&values)[N])
{
    for (Enum v : values)
        combo->addItem(text(alerts::to_string(v)), static_cast<int>(v));
}

template <class Enum>
Enum comboValue(const QComboBox* combo)
{
    return static_cast<Enum>(combo->currentData().toInt());
}

template <class Enum>
void setCombo(QComboBox* combo, Enum v)
{
    combo->setCurrentIndex(combo->findData(static_cast<int>(v)));
}

QString kindHint(const alerts::Rule& r)
{
    switch (r.kind) {
    case RuleKind::metric:
        switch (r.condition) {
        case Condition::above:
            return RuleEditorDialog::tr("Raises when the metric is above the threshold for the hold time; "
                                        "clears once it is at or below the clear threshold (empty: the "
                                        "threshold).");
        case Condition::below:
            return RuleEditorDialog::tr("Raises when the metric is below the threshold for the hold time; "
                                        "clears once it is at or above the clear threshold (empty: the "
                                        "threshold).");
        case Condition::outside:
            return RuleEditorDialog::tr("Raises when the metric leaves [low, high] for the hold time; clears "
                                        "once it is back inside [clear low, clear high] (empty: low, high).");
        case Condition::rate_above:
        case Condition::rate_below:
            return RuleEditorDialog::tr("Compares the change per second between a device's consecutive "
                                        "samples with the threshold, held for the hold time.");
        }
        return {};
    case RuleKind::stale:
        return RuleEditorDialog::tr("Raises when a matching device has sent nothing for the silence time; "
                                    "clears on its next sample.");
    case RuleKind::gateway:
        return RuleEditorDialog::tr("Raises when the gateway signal is above the threshold for the hold "
                                    "time; clears once it is at or below the clear threshold. Shares are "
                                    "0 to 1; rates are per second.");
    }
    return {};
}

} // namespace

RuleEditorDialog::RuleEditorDialog(std::vector<alerts::Rule> rules, const QString& path, QWidget* parent)
    : QDialog(parent)
    , rules_(std::move(rules))
    , path_(path)
    , list_(new QListWidget(this))
    , form_(new QFormLayout)
    , form_host_(new QWidget(this))
    , name_(new QLineEdit(this))
    , kind_(new QComboBox(this))
    , severity_(new QComboBox(this))
    , devices_(new QLineEdit(this))
    , metric_(new QLineEdit(this))
    , condition_(new QComboBox(this))
    , signal_(new QComboBox(this))
    , threshold_(new QLineEdit(this))
    , low_(new QLineEdit(this))
    , high_(new QLineEdit(this))
    , clear_(new QLineEdit(this))
    , clear_low_(new QLineEdit(this))
    , clear_high_(new QLineEdit(this))
    , hold_(new QLineEdit(this))
    , silence_(new QLineEdit(this))
    , error_(new QLabel(this))
    , hint_(new QLabel(this))
{
    setWindowTitle(tr("Alert rules"));
    setObjectName(QStringLiteral("ruleEditor"));
    fillCombo(kind_, kKinds);
    fillCombo(severity_, kSeverities);
    fillCombo(condition_, kConditions);
    fillCombo(signal_, kSignals);
    devices_->setPlaceholderText(tr("glob, e.g. pump-* (* any run, ? any character, [1-3] one of a set)"));
    metric_->setPlaceholderText(tr("e.g. temp_c"));
    clear_->setPlaceholderText(tr("empty: the threshold"));
    clear_low_->setPlaceholderText(tr("empty: low"));
    clear_high_->setPlaceholderText(tr("empty: high"));

    form_->addRow(tr("Name"), name_);
    form_->addRow(tr("Kind"), kind_);
    form_->addRow(tr("Severity"), severity_);
    form_->addRow(tr("Devices"), devices_);
    form_->addRow(tr("Metric"), metric_);
    form_->addRow(tr("Condition"), condition_);
    form_->addRow(tr("Signal"), signal_);
    form_->addRow(tr("Threshold"), threshold_);
    form_->addRow(tr("Low"), low_);
    form_->addRow(tr("High"), high_);
    form_->addRow(tr("Clear threshold"), clear_);
    form_->addRow(tr("Clear low"), clear_low_);
    form_->addRow(tr("Clear high"), clear_high_);
    form_->addRow(tr("Hold (ms)"), hold_);
    form_->addRow(tr("Silence (ms)"), silence_);
    const std::pair<const char*, QWidget*> fields[] = {{"name", name_},
                                                       {"kind", kind_},
                                                       {"severity", severity_},
                                                       {"devices", devices_},
                                                       {"metric", metric_},
                                                       {"condition", condition_},
                                                       {"signal", signal_},
                                                       {"threshold", threshold_},
                                                       {"low", low_},
                                                       {"high", high_},
                                                       {"clear", clear_},
                                                       {"clear_low", clear_low_},
                                                       {"clear_high", clear_high_},
                                                       {"hold", hold_},
                                                       {"silence", silence_}};
    for (const auto& [field, editor] : fields) {
        editor->setObjectName(QStringLiteral("rule-%1").arg(QLatin1String(field)));
        editors_.insert(QLatin1String(field), editor);
        if (auto* line = qobject_cast<QLineEdit*>(editor))
            connect(line, &QLineEdit::textEdited, this, &RuleEditorDialog::readForm);
        else if (auto* combo = qobject_cast<QComboBox*>(editor))
            connect(combo, &QComboBox::currentIndexChanged, this, &RuleEditorDialog::readForm);
    }
    form_host_->setLayout(form_);

    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    hint_->setObjectName(QStringLiteral("mutedLabel"));
    hint_->setWordWrap(true);

    auto* add = new QPushButton(tr("Add"), this);
    duplicate_ = new QPushButton(tr("Duplicate"), this);
    remove_ = new QPushButton(tr("Delete"), this);
    add->setObjectName(QStringLiteral("addRule"));
    remove_->setObjectName(QStringLiteral("removeRule"));
    connect(add, &QPushButton::clicked, this, &RuleEditorDialog::addRule);
    connect(duplicate_, &QPushButton::clicked, this, &RuleEditorDialog::duplicateRule);
    connect(remove_, &QPushButton::clicked, this, &RuleEditorDialog::removeRule);
    auto* listButtons = new QHBoxLayout;
    listButtons->addWidget(add);
    listButtons->addWidget(duplicate_);
    listButtons->addWidget(remove_);
    list_->setObjectName(QStringLiteral("ruleList"));
    auto* left = new QVBoxLayout;
    left->addWidget(list_, 1);
    left->addLayout(listButtons);

    auto* right = new QVBoxLayout;
    right->addWidget(form_host_);
    right->addWidget(hint_);
    right->addStretch(1);
    right->addWidget(error_);

    auto* columns = new QHBoxLayout;
    columns->addLayout(left, 2);
    columns->addSpacing(12);
    columns->addLayout(right, 3);

    auto* where = new QLabel(tr("Rules file: %1").arg(path_), this);
    where->setObjectName(QStringLiteral("mutedLabel"));
    where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Save)
        ->setToolTip(tr("Write the rules file and apply it to the gateway"));
    connect(buttons, &QDialogButtonBox::accepted, this, &RuleEditorDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &RuleEditorDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(columns, 1);
    layout->addWidget(where);
    layout->addWidget(buttons);

    for (std::size_t i = 0; i < rules_.size(); ++i)
        list_->addItem(QString());
    for (int i = 0; i < list_->count(); ++i)
        updateList(i);
    connect(list_, &QListWidget::currentRowChanged, this, &RuleEditorDialog::showRule);
    resize(820, 520);
    if (rules_.empty())
        showRule(-1);
    else
        list_->setCurrentRow(0);
}

int RuleEditorDialog::currentRule() const
{
    return list_->currentRow();
}

void RuleEditorDialog::selectRule(int index)
{
    list_->setCurrentRow(index);
}

QString RuleEditorDialog::errorText() const
{
    return error_->text();
}

void RuleEditorDialog::showError(const QString& text)
{
    error_->setText(text);
    error_->setVisible(!text.isEmpty());
}

QString RuleEditorDialog::uniqueName(const QString& base) const
{
    auto taken = [this](const QString& name) {
        for (const alerts::Rule& r : rules_)
            if (QString::fromStdString(r.name) == name)
                return true;
        return false;
    };
    if (!taken(base))
        return base;
    for (int n = 2;; ++n)
        if (const QString name = QStringLiteral("%1-%2").arg(base).arg(n); !taken(name))
            return name;
}

void RuleEditorDialog::updateList(int index)
{
    if (index < 0 || index >= list_->count())
        return;
    const alerts::Rule& r = rules_[static_cast<std::size_t>(index)];
    QListWidgetItem* item = list_->item(index);
    item->setText(
        QStringLiteral("%1  ·  %2").arg(QString::fromStdString(r.name), text(alerts::to_string(r.kind))));
    item->setIcon(severityIcon(r.severity));
    const QString problem = QString::fromStdString(alerts::validate(r).error());
    item->setToolTip(problem.isEmpty() ? severityText(r.severity) : problem);
    // A rule Save would refuse stands out in the list, also when another one is being edited.
    item->setForeground(problem.isEmpty() ? QBrush() : QBrush(Theme::instance().colors().bad));
}

void RuleEditorDialog::showRule(int index)
{
    const bool valid = index >= 0 && index < static_cast<int>(rules_.size());
    form_host_->setEnabled(valid);
    remove_->setEnabled(valid);
    duplicate_->setEnabled(valid);
    if (!valid) {
        hint_->setText(tr("No rules: Add one to start."));
        showError({});
        return;
    }
    const alerts::Rule& r = rules_[static_cast<std::size_t>(index)];
    loading_ = true;
    name_->setText(QString::fromStdString(r.name));
    setCombo(kind_, r.kind);
    setCombo(severity_, r.severity);
    devices_->setText(QString::fromStdString(r.devices));
    metric_->setText(QString::fromStdString(r.metric));
    setCombo(condition_, r.condition);
    setCombo(signal_, r.signal);
    threshold_->setText(numberText(r.threshold));
    low_->setText(numberText(r.low));
    high_->setText(numberText(r.high));
    clear_->setText(numberText(r.clear));
    clear_low_->setText(numberText(r.clear_low));
    clear_high_->setText(numberText(r.clear_high));
    hold_->setText(QString::number(r.hold.count()));
    silence_->setText(QString::number(r.silence.count()));
    loading_ = false;
    number_problem_.clear();
    updateVisibility();
    showError(QString::fromStdString(alerts::validate(r).error()));
}

void RuleEditorDialog::updateVisibility()
{
    const auto kind = comboValue<RuleKind>(kind_);
    const auto condition = comboValue<Condition>(condition_);
    const bool metric = kind == RuleKind::metric;
    const bool outside = metric && condition == Condition::outside;
    form_->setRowVisible(devices_, kind != RuleKind::gateway);
    form_->setRowVisible(metric_, metric);
    form_->setRowVisible(condition_, metric);
    form_->setRowVisible(signal_, kind == RuleKind::gateway);
    form_->setRowVisible(threshold_, kind != RuleKind::stale && !outside);
    form_->setRowVisible(low_, outside);
    form_->setRowVisible(high_, outside);
    form_->setRowVisible(clear_, kind != RuleKind::stale && !outside);
    form_->setRowVisible(clear_low_, outside);
    form_->setRowVisible(clear_high_, outside);
    form_->setRowVisible(hold_, kind != RuleKind::stale);
    form_->setRowVisible(silence_, kind == RuleKind::stale);
    const int index = currentRule();
    if (index >= 0 && index < static_cast<int>(rules_.size()))
        hint_->setText(kindHint(rules_[static_cast<std::size_t>(index)]));
}

void RuleEditorDialog::readForm()
{
    const int index = currentRule();
    if (loading_ || index < 0 || index >= static_cast<int>(rules_.size()))
        return;
    alerts::Rule& r = rules_[static_cast<std::size_t>(index)];
    r.name = name_->text().toStdString();
    r.kind = comboValue<RuleKind>(kind_);
    r.severity = comboValue<Severity>(severity_);
    r.devices = devices_->text().toStdString();
    r.metric = metric_->text().trimmed().toStdString();
    r.condition = comboValue<Condition>(condition_);
    r.signal = comboValue<Signal>(signal_);
    updateVisibility();

    // Only the fields the rule's kind shows are read; a hidden field keeps its value and cannot be wrong.
    number_problem_.clear();
    auto number = [this](QLineEdit* edit, const QString& field, bool optional) -> std::optional<double> {
        const QString t = edit->text().trimmed();
        if (t.isEmpty() && optional)
            return std::nullopt;
        bool ok = false;
        const double v = QLocale::c().toDouble(t, &ok);
        if (!ok || !std::isfinite(v)) {
            if (number_problem_.isEmpty())
                number_problem_ =
                    tr("%1: '%2' is not a number; expected a decimal such as 50 or 0.75").arg(field, t);
            return std::nullopt;
        }
        return v;
    };
    auto millis = [this](QLineEdit* edit, const QString& field) -> std::optional<Millis> {
        bool ok = false;
        const qlonglong v = edit->text().trimmed().toLongLong(&ok);
        if (!ok || v < 0) {
            if (number_problem_.isEmpty())
                number_problem_ = tr("%1: '%2' is not a duration; expected whole milliseconds, 0 or more")
                                      .arg(field, edit->text().trimmed());
            return std::nullopt;
        }
        return Millis{v};
    };
    if (form_->isRowVisible(threshold_))
        if (auto v = number(threshold_, tr("threshold"), false))
            r.threshold = *v;
    if (form_->isRowVisible(low_))
        if (auto v = number(low_, tr("low"), false))
            r.low = *v;
    if (form_->isRowVisible(high_))
        if (auto v = number(high_, tr("high"), false))
            r.high = *v;
    if (form_->isRowVisible(clear_))
        r.clear = number(clear_, tr("clear threshold"), true);
    if (form_->isRowVisible(clear_low_))
        r.clear_low = number(clear_low_, tr("clear low"), true);
    if (form_->isRowVisible(clear_high_))
        r.clear_high = number(clear_high_, tr("clear high"), true);
    if (form_->isRowVisible(hold_))
        if (auto v = millis(hold_, tr("hold")))
            r.hold = *v;
    if (form_->isRowVisible(silence_))
        if (auto v = millis(silence_, tr("silence")))
            r.silence = *v;

    updateList(index);
    showError(number_problem_.isEmpty() ? QString::fromStdString(alerts::validate(r).error())
                                        : number_problem_);
}

void RuleEditorDialog::addRule()
{
    alerts::Rule r;
    r.name = uniqueName(QStringLiteral("rule")).toStdString();
    r.metric = "temp_c";
    r.threshold = 50;
    rules_.push_back(std::move(r));
    list_->addItem(QString());
    updateList(list_->count() - 1);
    list_->setCurrentRow(list_->count() - 1);
    name_->setFocus();
    name_->selectAll();
}

void RuleEditorDialog::duplicateRule()
{
    const int index = currentRule();
    if (index < 0 || index >= static_cast<int>(rules_.size()))
        return;
    alerts::Rule r = rules_[static_cast<std::size_t>(index)];
    r.name = uniqueName(QString::fromStdString(r.name)).toStdString();
    rules_.push_back(std::move(r));
    list_->addItem(QString());
    updateList(list_->count() - 1);
    list_->setCurrentRow(list_->count() - 1);
}

void RuleEditorDialog::removeRule()
{
    const int index = currentRule();
    if (index < 0 || index >= static_cast<int>(rules_.size()))
        return;
    rules_.erase(rules_.begin() + index);
    delete list_->takeItem(index);
    if (rules_.empty())
        showRule(-1);
    else
        list_->setCurrentRow(std::min(index, static_cast<int>(rules_.size()) - 1));
}

void RuleEditorDialog::accept()
{
    if (!number_problem_.isEmpty()) {
        showError(number_problem_);
        return;
    }
    if (const auto valid = alerts::validate(std::span<const alerts::Rule>(rules_)); !valid) {
        // Show the rule at fault, with its problem.
        for (std::size_t i = 0; i < rules_.size(); ++i) {
            if (!alerts::validate(rules_[i])) {
                list_->setCurrentRow(static_cast<int>(i));
                break;
            }
        }
        showError(QString::fromStdString(valid.error()));
        return;
    }
    if (const auto saved = alerts::save_rules(path_.toStdString(), rules_); !saved) {
        showError(tr("Not saved: %1").arg(QString::fromStdString(saved.error())));
        return;
    }
    QDialog::accept();
}

} // namespace fleetscope::ui
