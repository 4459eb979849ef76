// What a request needs that SIGHUP can replace: the settings, the credential table and the
// indicator catalogue, loaded together and swapped whole (an immutable snapshot behind a
// shared_ptr), so one request never sees the credentials of one reload and the limits of another.
#pragma once

#include "catalogue/catalogue.hpp"
#include "config/config.hpp"
#include "credentials/credentials.hpp"

#include <memory>

namespace sluice::gateway {

struct runtime {
    config::settings settings;
    credentials::credential_table credentials;
    catalogue::catalogue catalogue;
};

// Reads settings.credentials.file and settings.catalogue.dir. Throws config_error.
std::shared_ptr<const runtime> load_runtime(config::settings settings);

}  // namespace sluice::gateway
