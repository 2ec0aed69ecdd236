# SPDX-License-Identifier: GPL-3.0-or-later
# A stage graph in which ocr does not declare detect (which it includes): the check must fail.
set(STAGES "ocr")
set(STAGE_ocr_STAGES "common")
set(STAGE_ocr_USES "")
