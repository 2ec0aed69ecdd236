// SPDX-License-Identifier: GPL-3.0-or-later
// Whether every part lethed assembles is in this tree (they are built in parallel: issues 3, 4, 6).
#pragma once

#if __has_include("lethe/retention/retention.h") && __has_include("lethe/retention/purge_worker.h") && \
	__has_include("lethe/audit/roles.h") && __has_include("lethe/audit/audit_log.h") &&            \
	__has_include("lethe/hotlist/store.h") && __has_include("lethe/publish/publisher.h") &&        \
	__has_include("lethe/ocr/plate_reader.h")
#define LETHED_ASSEMBLED 1
#else
#define LETHED_ASSEMBLED 0
#endif
