/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hints.h - what an administrator should do about an error, for the
 * intune-scep command-line tool. Built over the public C ABI only.
 */
#ifndef INTUNE_SCEP_CLI_HINTS_H
#define INTUNE_SCEP_CLI_HINTS_H

#include "intune_scep.h"

/** Where in the flow an error happened; it changes what the likely fix is. */
typedef enum {
    HINT_STEP_CONFIG = 0,   /**< loading or validating the configuration */
    HINT_STEP_GRAPH_TOKEN,  /**< acquiring the Microsoft Graph token */
    HINT_STEP_DISCOVERY,    /**< Graph service discovery of the SCEP service */
    HINT_STEP_INTUNE_TOKEN, /**< acquiring the Intune token */
    HINT_STEP_SCEP_CALL     /**< validateRequest, successNotification or failureNotification */
} hint_step;

/**
 * The likely fix for Intune's `code` (protocol.md section 4), or NULL for a code
 * this table does not know (it is then treated as Unknown by the caller).
 */
const char *hint_for_intune_code(const char *code);

/** The likely fix for an AADSTS number (e.g. 7000215), or NULL when not in the table. */
const char *hint_for_aadsts(long aadsts);

/**
 * The likely fix for the error `err` that happened at `step`. Never NULL for a
 * failed error object; NULL when `err` holds no error.
 */
const char *hint_for_error(hint_step step, const intune_scep_error *err);

#endif /* INTUNE_SCEP_CLI_HINTS_H */
