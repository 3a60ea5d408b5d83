// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <boost/program_options/options_description.hpp>

#include <string>

namespace fleetscope {

/// Adds one `--name` option per setting (from for_each_setting) that writes into `s` when parsed and shows
/// the field's current value as its default. Used by every app, so `--help` always lists every setting.
void add_setting_options(boost::program_options::options_description& desc, Settings& s);

/// The settings as a Markdown table (flag, default, unit, meaning): the README's settings section is this
/// output.
std::string settings_markdown(const Settings& defaults);

} // namespace fleetscope
