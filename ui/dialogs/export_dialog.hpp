// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/store.hpp"
#include "ui/capture/export_job.hpp"

#include <QDialog>
#include <QStringList>

#include <vector>

class QButtonGroup;
class QComboBox;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
class QListWidget;
class QRadioButton;

namespace fleetscope::ui {

/// File → Export…: what to export (format, session or time range, devices by glob or the selected rows,
/// metrics) and where. Only collects the request; an ExportJob runs it. GUI thread only.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    /// `selectedDevices`: the rows selected in the device table (the "selected rows" choice is offered when
    /// there are some). `metrics`: the names offered in the metric list. `from_ms`/`to_ms`: the initial
    /// range.
    ExportDialog(const QString& dbPath, const QStringList& selectedDevices, const QStringList& metrics,
                 std::int64_t from_ms, std::int64_t to_ms, QWidget* parent = nullptr);

    /// Fills the session list (read off the GUI thread by the caller); the newest is preselected.
    void setSessions(const std::vector<store::SessionRow>& sessions);

    /// The export as chosen. Check validationError() first.
    ExportRequest request() const;
    /// Empty when the choices make a valid export; else what is wrong with them.
    QString validationError() const;

    // For tests and for callers that preset a choice.
    void setFormat(store::ExportFormat format);
    void setOutputPath(const QString& path);
    void setDeviceGlobs(const QString& globs);

    void accept() override;

private:
    void formatChanged();
    void browse();
    void updateEnabled();

    QString db_path_;
    QStringList selected_devices_;
    std::vector<store::SessionRow> sessions_;
    QComboBox* format_;
    QRadioButton* all_time_;
    QRadioButton* by_session_;
    QRadioButton* by_range_;
    QComboBox* session_;
    QDateTimeEdit* from_;
    QDateTimeEdit* to_;
    QRadioButton* all_devices_;
    QRadioButton* by_glob_;
    QRadioButton* by_selection_;
    QLineEdit* globs_;
    QListWidget* metrics_;
    QLineEdit* output_;
    QLabel* error_;
};

} // namespace fleetscope::ui
