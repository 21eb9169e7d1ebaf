"""The reference JOC's OpenAPI document (``GET /joc/api/openapi.json``): every
route with the fields it reads, each with its type as JS7's API schemas
(``sos-berlin/js7-api-schemas``) give it, and JOC's error answers — 420
``{"error": {"code", "message"}}``, 401/403 with JOC's security answer.

With field-level schemas a schema-driven fuzzer (schemathesis) can reach the
handlers with well-typed and near-miss bodies instead of only empty ones."""

from __future__ import annotations

from typing import Any

from components.joc.calls import PREFIX, TOKEN_HEADER, Route

_STR: dict[str, Any] = {"type": "string"}
_STRS: dict[str, Any] = {"type": "array", "items": _STR}
_BOOL: dict[str, Any] = {"type": "boolean"}
_ID: dict[str, Any] = {"type": "integer", "minimum": 0}
_IDS: dict[str, Any] = {"type": "array", "items": _ID}
_OBJ: dict[str, Any] = {"type": "object"}
_FOLDERS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["folder"],
        "properties": {"folder": _STR, "recursive": _BOOL},
    },
}
# dateFrom/dateTo: JOC's relative form ("-1d", "0d", "now") or ISO.
_DATE = _STR

FIELDS: dict[str, dict[str, Any]] = {
    "account": _STR,
    "auditLog": {
        "type": "object",
        "properties": {"comment": _STR, "timeSpent": {"type": "integer"}, "ticketLink": _STR},
    },
    "categories": _STRS,
    "comment": _STR,
    "compactFilter": _OBJ,
    "completedDateFrom": _DATE,
    "completedDateTo": _DATE,
    "configuration": _OBJ,
    "controllerId": _STR,
    "controllerIds": _STRS,
    "dailyPlanDate": _STR,
    "dailyPlanDateFrom": _STR,
    "dailyPlanDateTo": _STR,
    "dailyPlanDates": _STRS,
    "date": _STR,
    "dateFrom": _DATE,
    "dateTo": _DATE,
    "delete": _OBJ,
    "excludeJobs": {"type": "array", "items": _OBJ},
    "excludeWorkflows": _STRS,
    "folders": _FOLDERS,
    "historyId": _ID,
    "historyIds": _IDS,
    "historyStates": {
        "type": "array",
        "items": {"type": "string", "enum": ["SUCCESSFUL", "INCOMPLETE", "FAILED"]},
    },
    "includeNonAutoPlannedOrders": _BOOL,
    "jobName": _STR,
    "jobs": {"type": "array", "items": _OBJ},
    "late": _BOOL,
    "limit": {"type": "integer", "minimum": -1},
    "memberId": _STR,
    "objectType": _STR,
    "orderId": _STR,
    "orderIds": _STRS,
    "orders": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "workflowPath": _STR,
                "orderName": _STR,
                "scheduledFor": _STR,
                "timeZone": _STR,
                "arguments": _OBJ,
            },
        },
    },
    "overwrite": _BOOL,
    "path": _STR,
    "scheduleFolders": _FOLDERS,
    "schedulePaths": _STRS,
    "schedules": {"type": "array", "items": _OBJ},
    "states": _STRS,
    "store": _OBJ,
    "submissionTime": _STR,
    "submitted": _BOOL,
    "taskId": _ID,
    "taskIds": _IDS,
    "ticketLink": _STR,
    "timeZone": _STR,
    "type": _STR,
    "update": _OBJ,
    "url": _STR,
    "valid": _BOOL,
    "withSubmit": _BOOL,
    "workflowFolders": _FOLDERS,
    "workflowName": _STR,
    "workflowPath": _STR,
    "workflowPaths": _STRS,
    "workflows": {"type": "array", "items": _OBJ},
}

_JOC_ERROR = {
    "description": "JOC's error answer (error.raml)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "deliveryDate": _STR,
                    "surveyDate": _STR,
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": _STR, "message": _STR},
                    },
                },
            }
        }
    },
}
_SECURITY = {
    "description": "JOC's security answer (not logged in, or not permitted)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["isAuthenticated", "isPermitted", "message"],
                "properties": {"isAuthenticated": _BOOL, "isPermitted": _BOOL, "message": _STR},
            }
        }
    },
}


def document(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``routes``; a field without a known type
    gets an empty schema (anything)."""
    paths: dict[str, Any] = {}
    for r in routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "responses": {
                "200": {"description": "OK"},
                "401": {"$ref": "#/components/responses/Security"},
                "403": {"$ref": "#/components/responses/Security"},
                "420": {"$ref": "#/components/responses/JocError"},
            },
        }
        if r.permission is None:
            op["security"] = [{"basic": []}]
        else:
            op["x-permission"] = r.permission or "any"
        if r.method == "POST" and r.fields:
            schema = {"type": "object", "properties": {f: FIELDS.get(f, {}) for f in r.fields}}
            op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        paths[f"{PREFIX}/{r.path}"] = {r.method.lower(): op}
    return {
        "openapi": "3.0.3",
        "info": {"title": "js7ha reference JOC Cockpit API", "version": "1"},
        "paths": paths,
        "security": [{"accessToken": []}],
        "components": {
            "securitySchemes": {
                "accessToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "responses": {"JocError": _JOC_ERROR, "Security": _SECURITY},
        },
    }
