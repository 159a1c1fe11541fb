/*
 * openapi.c - the OpenAPI 3.1 description of every route (GET
 * /v1/openapi.json). Kept by hand beside the routing table in server.c;
 * tests/integration/test_api.c checks that each route is described and
 * that the text is valid JSON. Schemas follow the decision contract in
 * FORMATS.md and the problem documents of RFC 9457.
 */
#include "base/base.h"
#include "api/api_int.h"

/* clang-format off */
#define PROBLEM_RESPONSE(desc)                                                                    \
	"{\"description\":\"" desc "\",\"content\":{\"application/problem+json\":"                \
	"{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}}"

/* The document is laid out by hand: one object per group of lines. */
static const char openapi_text[] =
    "{"
    "\"openapi\":\"3.1.0\","
    "\"info\":{\"title\":\"mamori API\",\"version\":\"" MAMORI_VERSION "\","
    "\"summary\":\"Access decisions for the business systems of a Japanese local government\","
    "\"description\":\"Every error is an RFC 9457 problem document with a stable code. "
    "Messages follow Accept-Language (ja or en; Japanese when absent). "
    "Reference: docs/api.md.\","
    "\"license\":{\"name\":\"see the distribution\",\"identifier\":\"NOASSERTION\"}},"
    "\"servers\":[{\"url\":\"http://127.0.0.1:8080\",\"description\":\"the default listen address\"}],"
    "\"security\":[{\"bearer\":[]}],"
    "\"paths\":{"

    "\"/v1/health\":{\"get\":{"
    "\"operationId\":\"health\",\"summary\":\"Liveness and the ledger size\","
    "\"security\":[],"
    "\"responses\":{"
    "\"200\":{\"description\":\"The server is up\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/Health\"}}}},"
    "\"405\":{\"$ref\":\"#/components/responses/MethodNotAllowed\"}}}},"

    "\"/v1/openapi.json\":{\"get\":{"
    "\"operationId\":\"openapi\",\"summary\":\"This document\","
    "\"security\":[],"
    "\"responses\":{"
    "\"200\":{\"description\":\"The OpenAPI 3.1 document\",\"content\":{\"application/json\":"
    "{\"schema\":{\"type\":\"object\"}}}},"
    "\"405\":{\"$ref\":\"#/components/responses/MethodNotAllowed\"}}}},"

    "\"/v1/decide\":{\"post\":{"
    "\"operationId\":\"decide\","
    "\"summary\":\"Decide whether a member of staff may access a resident's record\","
    "\"description\":\"Evaluates the current policy on the request, records the decision in "
    "the ledger and returns it. A deny is a normal answer (200), not an error.\","
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/DecideRequest\"}}}},"
    "\"responses\":{"
    "\"200\":{\"description\":\"The decision (allow or deny)\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/DecideResponse\"}}}},"
    "\"400\":{\"$ref\":\"#/components/responses/BadRequest\"},"
    "\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
    "\"405\":{\"$ref\":\"#/components/responses/MethodNotAllowed\"},"
    "\"413\":{\"$ref\":\"#/components/responses/TooLarge\"},"
    "\"415\":{\"$ref\":\"#/components/responses/UnsupportedMediaType\"},"
    "\"500\":{\"$ref\":\"#/components/responses/ServerError\"},"
    "\"503\":{\"$ref\":\"#/components/responses/Busy\"}}}},"

    "\"/v1/admin/reload\":{\"post\":{"
    "\"operationId\":\"reload\","
    "\"summary\":\"Re-read the policy file and the registry\","
    "\"description\":\"Builds a new decider from the policy file and the registry and installs "
    "it; requests in flight finish on the old one. If anything is wrong the previous policy "
    "stays in force and the answer is 422 with the diagnostics. No request body is needed. "
    "The same happens on SIGHUP.\","
    "\"responses\":{"
    "\"200\":{\"description\":\"Reloaded\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/ReloadResult\"}}}},"
    "\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
    "\"405\":{\"$ref\":\"#/components/responses/MethodNotAllowed\"},"
    "\"413\":{\"$ref\":\"#/components/responses/TooLarge\"},"
    "\"422\":" PROBLEM_RESPONSE("The policy or the registry is not valid; nothing changed") ","
    "\"500\":{\"$ref\":\"#/components/responses/ServerError\"}}}}"
    "},"

    "\"components\":{"
    "\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\","
    "\"bearerFormat\":\"mk_<12 id chars>_<43 secret chars>\","
    "\"description\":\"An API key from `mamori apikey create DIR NAME`\"}},"

    "\"responses\":{"
    "\"BadRequest\":" PROBLEM_RESPONSE("Malformed JSON, a wrong type, a missing field or invalid UTF-8") ","
    "\"Unauthorized\":{\"description\":\"No API key, or an unknown, revoked or wrong one\","
    "\"headers\":{\"WWW-Authenticate\":{\"schema\":{\"type\":\"string\"}}},"
    "\"content\":{\"application/problem+json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}},"
    "\"MethodNotAllowed\":{\"description\":\"A known path with another method\","
    "\"headers\":{\"Allow\":{\"schema\":{\"type\":\"string\"}}},"
    "\"content\":{\"application/problem+json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}},"
    "\"TooLarge\":" PROBLEM_RESPONSE("The body is larger than max_body") ","
    "\"UnsupportedMediaType\":" PROBLEM_RESPONSE("The body is not sent as application/json") ","
    "\"ServerError\":" PROBLEM_RESPONSE("An internal error (the decision was not recorded)") ","
    "\"Busy\":" PROBLEM_RESPONSE("No policy is loaded yet, or the store is busy; try again") "},"

    "\"schemas\":{"
    "\"Problem\":{\"type\":\"object\",\"description\":\"RFC 9457 problem details\","
    "\"required\":[\"type\",\"title\",\"status\",\"code\",\"detail\"],"
    "\"properties\":{"
    "\"type\":{\"type\":\"string\",\"format\":\"uri\","
    "\"examples\":[\"https://mamori.invalid/problems/invalid\"]},"
    "\"title\":{\"type\":\"string\",\"description\":\"the code's message in the request's language\"},"
    "\"status\":{\"type\":\"integer\"},"
    "\"code\":{\"type\":\"string\",\"description\":\"stable error code\","
    "\"enum\":[\"nomem\",\"io\",\"invalid\",\"not_found\",\"exists\",\"too_large\",\"overflow\","
    "\"unauthorized\",\"forbidden\",\"db\",\"crypto\",\"policy\",\"unsupported\",\"timeout\","
    "\"corrupt\",\"busy\",\"method\",\"schema\",\"internal\"]},"
    "\"detail\":{\"type\":\"string\"},"
    "\"diagnostics\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"description\":\"for code policy: every problem found, as FILE:LINE:COL: message\"}}},"

    "\"Health\":{\"type\":\"object\",\"required\":[\"status\",\"version\",\"ledger_size\"],"
    "\"properties\":{\"status\":{\"const\":\"ok\"},\"version\":{\"type\":\"string\"},"
    "\"ledger_size\":{\"type\":\"integer\",\"minimum\":0}}},"

    "\"ReloadResult\":{\"type\":\"object\",\"required\":[\"reloaded\"],"
    "\"properties\":{\"reloaded\":{\"const\":true},"
    "\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"

    "\"DecideRequest\":{\"type\":\"object\",\"required\":[\"staff_id\",\"action\",\"system\",\"zone\"],"
    "\"properties\":{"
    "\"staff_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
    "\"action\":{\"enum\":[\"search\",\"view\",\"update\",\"print\",\"export\"]},"
    "\"resident_id\":{\"type\":[\"string\",\"null\"],\"description\":\"may be null for search\"},"
    "\"system\":{\"type\":\"string\",\"examples\":[\"juki\"]},"
    "\"zone\":{\"enum\":[\"mynumber\",\"lgwan\",\"internet\"]},"
    "\"terminal\":{\"type\":[\"string\",\"null\"]},"
    "\"mfa\":{\"type\":\"boolean\",\"default\":false},"
    "\"case_id\":{\"type\":[\"string\",\"null\"]},"
    "\"ts\":{\"type\":\"string\",\"format\":\"date-time\",\"description\":\"RFC 3339 with an "
    "offset; defaults to now\"}},"
    "\"examples\":[{\"staff_id\":\"S0001\",\"action\":\"view\",\"resident_id\":\"R0000042\","
    "\"system\":\"juki\",\"zone\":\"mynumber\",\"terminal\":\"T-12\",\"mfa\":true,"
    "\"case_id\":null,\"ts\":\"2026-04-01T10:00:00+09:00\"}]},"

    "\"Reason\":{\"type\":\"object\",\"required\":[\"code\",\"effect\",\"ja\",\"en\"],"
    "\"properties\":{\"code\":{\"type\":\"string\",\"examples\":[\"no_case\"]},"
    "\"effect\":{\"enum\":[\"deny\",\"warn\"]},"
    "\"ja\":{\"type\":\"string\"},\"en\":{\"type\":\"string\"}}},"

    "\"DecideResponse\":{\"type\":\"object\",\"required\":[\"decision\",\"obligations\",\"reasons\","
    "\"ledger_index\"],"
    "\"properties\":{\"decision\":{\"enum\":[\"allow\",\"deny\"]},"
    "\"obligations\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"examples\":[[\"alert\"]]},"
    "\"reasons\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Reason\"}},"
    "\"ledger_index\":{\"type\":\"integer\",\"minimum\":0,"
    "\"description\":\"index of the decision's record in the ledger\"}}}"
    "}}"
    "}";
/* clang-format on */

const char *api_openapi_json(void)
{
	return openapi_text;
}
