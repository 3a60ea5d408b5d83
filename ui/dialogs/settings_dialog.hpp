// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <QDialog>
#include <QHash>

#include <vector>

class QLabel;

namespace fleetscope::ui {

/// Edits the one Settings struct: the form is generated from for_each_setting, one row per field with an
/// editor chosen by the field's type, so a setting added to core/settings.hpp appears here unasked.
/// GUI thread only.
class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    SettingsDialog(const Settings& current, bool gatewayRunning, QWidget* parent = nullptr);

    /// The settings as edited (not yet validated).
    Settings settings() const;
    int rowCount() const { return static_cast<int>(editors_.size()); }
    QWidget* editorFor(const QString& name) const { return by_name_.value(name); }
    QString errorText() const;

    static QString labelFor(const QString& name); // "max-header-bytes" -> "Max header bytes"

public slots:
    void accept() override; // refuses while validate() reports a problem
    void restoreDefaults();

private:
    void load(const Settings& s);
    void updateWorkersWarning();

    Settings base_;
    std::vector<QWidget*> editors_; // in for_each_setting order
    QHash<QString, QWidget*> by_name_;
    QLabel* workers_warning_ = nullptr;
    QLabel* error_;
};

} // namespace fleetscope::ui
