// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"

#include <QDialog>
#include <QHash>

#include <vector>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;

namespace fleetscope::ui {

/// Edits the alert rules file: a list of rules beside a form whose fields follow the rule's kind (metric,
/// stale, gateway) and condition. Every edit is checked at once with alerts::validate, and the problem is
/// shown under the form; Save refuses while any rule is invalid, then writes the file with
/// alerts::save_rules. The caller applies the saved rules to a running gateway. GUI thread only.
class RuleEditorDialog : public QDialog {
    Q_OBJECT
public:
    RuleEditorDialog(std::vector<alerts::Rule> rules, const QString& path, QWidget* parent = nullptr);

    /// The rules as edited; after a successful accept(), as saved.
    const std::vector<alerts::Rule>& rules() const { return rules_; }
    QString path() const { return path_; }
    int currentRule() const;
    void selectRule(int index);
    /// The problem with the current rule as shown (empty when it is valid), or why Save refused.
    QString errorText() const;
    /// The editor of one field of the current rule: "name", "kind", "severity", "devices", "metric",
    /// "condition", "signal", "threshold", "low", "high", "clear", "clear_low", "clear_high", "hold",
    /// "silence"; nullptr for any other name.
    QWidget* editorFor(const QString& field) const { return editors_.value(field); }

public slots:
    void addRule();
    void duplicateRule();
    void removeRule();
    /// Validates every rule, writes the file, and closes; stays open showing the problem otherwise.
    void accept() override;

private:
    void showRule(int index);
    void readForm();
    void updateVisibility();
    void updateList(int index);
    void showError(const QString& text);
    QString uniqueName(const QString& base) const;

    std::vector<alerts::Rule> rules_;
    QString path_;
    QListWidget* list_;
    QFormLayout* form_;
    QWidget* form_host_;
    QHash<QString, QWidget*> editors_;
    QLineEdit* name_;
    QComboBox* kind_;
    QComboBox* severity_;
    QLineEdit* devices_;
    QLineEdit* metric_;
    QComboBox* condition_;
    QComboBox* signal_;
    QLineEdit* threshold_;
    QLineEdit* low_;
    QLineEdit* high_;
    QLineEdit* clear_;
    QLineEdit* clear_low_;
    QLineEdit* clear_high_;
    QLineEdit* hold_;
    QLineEdit* silence_;
    QLabel* error_;
    QLabel* hint_;
    QPushButton* remove_;
    QPushButton* duplicate_;
    QString number_problem_;
    bool loading_ = false;
};

} // namespace fleetscope::ui
