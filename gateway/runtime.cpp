// Runtime snapshot loading (see runtime.hpp).
#include "gateway/runtime.hpp"

namespace sluice::gateway {

std::shared_ptr<const runtime> load_runtime(config::settings settings) {
    auto credentials = credentials::credential_table::load(settings.credentials.file);
    auto catalogue = catalogue::load_catalogue(settings.catalogue.dir);
    return std::make_shared<const runtime>(runtime{std::move(settings), std::move(credentials), std::move(catalogue)});
}

}  // namespace sluice::gateway
