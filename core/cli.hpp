// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <string>

namespace fleetscope {

/// Adds one `--name` option per setting (from for_each_setting) that writes into `s` when parsed and shows
/// the field's current value as its default. Used by every app, so `--help` always lists every setting.
void add_setting_options(boost::program_options::options_description& desc, Settings& s);

/// Stores the settings of the config file at `path` into `vm` (`--config FILE`): `key = value` lines with the
/// keys named exactly as the flags without `--`, and `#` comments (Boost.Program_options' config-file
/// syntax). Store the command line into `vm` first: what it sets explicitly keeps its value, so flags
/// override the file. Every key must be one of `desc`'s options, so a misspelt key is an error rather than a
/// line silently ignored. Throws std::runtime_error naming the file and what is wrong.
void store_config_file(const std::string& path, const boost::program_options::options_description& desc,
                       boost::program_options::variables_map& vm);

/// The settings as a Markdown table (flag, default, unit, meaning): the README's settings section is this
/// output.
std::string settings_markdown(const Settings& defaults);

} // namespace fleetscope
