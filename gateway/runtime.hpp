// What a request needs that SIGHUP can replace: the settings, the credential table, the
// organisations file and the indicator catalogue, loaded together and swapped whole (an immutable snapshot behind a
// shared_ptr), so one request never sees the credentials of one reload and the limits of another.
#pragma once

#include "catalogue/catalogue.hpp"
#include "config/config.hpp"
#include "credentials/credentials.hpp"
#include "credentials/organisations.hpp"

#include <memory>
#include <string>

namespace sluice::gateway {

struct runtime {
    config::settings settings;
    credentials::credential_table credentials;
    credentials::organisation_table organisations;  // organisations.file; empty when it is ""
    catalogue::catalogue catalogue;
    std::string operator_message;  // status.message_file's text, for the status page ("" : none)
};

// Reads settings.credentials.file, settings.organisations.file, settings.catalogue.dir and
// settings.status.message_file. Throws config_error.
std::shared_ptr<const runtime> load_runtime(config::settings settings);

}  // namespace sluice::gateway
