// SPDX-License-Identifier: GPL-3.0-or-later
// Random (version 4) UUIDs: hit event ids and retention record ids.
#pragma once

#include <string>
#include <string_view>

#include "lethe/common/result.h"

namespace lethe {

/// A random (version 4) UUID, lower-case hex with dashes
/// ("xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx", Y one of 8 9 a b). When the system RNG fails
/// this is an error (-EIO): never an all-zero or otherwise predictable id.
[[nodiscard]] Result<std::string> new_uuid4();

/// Is s a UUID v4 as new_uuid4() makes them (lower case, dashes in place)?
[[nodiscard]] bool is_uuid_v4(std::string_view s);

} // namespace lethe
