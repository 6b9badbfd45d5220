"""What the operator API shows of an operator."""

from marshmallow import Schema, fields

from widget_server.domain.operators.operators import (
    INSURANCE_ENDS_BEFORE,
    INSURANCE_EXPIRED,
    MISSING_USDOT,
    NO_INSURANCE,
)

COMPLIANCE_CODES = [MISSING_USDOT, NO_INSURANCE, INSURANCE_EXPIRED, INSURANCE_ENDS_BEFORE]


class OperatorProfileSchema(Schema):
    id = fields.String(metadata={"example": "op_01jd2x3y4z5a6b7c8d9e0f1g2h"})
    object = fields.Constant("operator")
    slug = fields.String()
    name = fields.String()
    legal_name = fields.String(allow_none=True)
    usdot_number = fields.String(allow_none=True)
    insurance_expires_on = fields.Date(allow_none=True)
    regions = fields.List(fields.String(), metadata={"description": "Region codes, e.g. KS."})
    contact_email = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True, metadata={"description": "E.164."})
    compliance = fields.List(
        fields.String(metadata={"enum": COMPLIANCE_CODES}),
        metadata={
            "description": "Why an award would be refused today (empty: nothing): "
            "missing_usdot, insurance_missing, insurance_expired. An award also checks that "
            "the insurance lasts until the event (insurance_ends_before_event)."
        },
    )
