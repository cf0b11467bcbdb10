#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/ (run by fuzz/run).

Seeds are valid inputs of each kind, so that the fuzzers start from what real callers send:
the providers' published callback vectors and events, and member sheets with the batch-update
and import columns (as sheet XML for the packing mode, and as whole .xlsx files)."""

import io
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    folder = os.path.join(HERE, "seeds", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# callback_crypto: mode byte 0 (encrypt text), 1 (plaintext to seal), 2 (message to round-trip).
DINGTALK_VECTOR = b"YvkvaGe4hQxd3VxRmEty0dVlnCOAqwf56xwTRHDHoOURqhalbmBJQk5FNcRk42Gl5T0YQXZNwpwWSm1xAFJ5ZA=="
write("callback_crypto", "published_vector", b"\x00" + DINGTALK_VECTOR)
message = b'{"EventType":"check_url"}'
owner = b"dingsnotzck6pm5veliw"
plain = b"A" * 16 + struct.pack(">I", len(message)) + message + owner
pad = 32 - len(plain) % 32
write("callback_crypto", "plaintext", b"\x01" + plain + bytes([pad]) * pad)
write("callback_crypto", "roundtrip", b"\x02" + message)

# callback_events: DingTalk JSON and WeCom XML events.
events = {
    "dingtalk_user": b'{"EventType":"user_modify_org","userId":["0001","0002"],"eventId":"e1","CorpId":"ding1"}',
    "dingtalk_leave": b'{"EventType":"user_leave_org","UserId":["7"],"TimeStamp":"1"}',
    "dingtalk_dept": b'{"EventType":"org_dept_remove","deptId":[12]}',
    "wecom_user": b"<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[ZhangSan]]></UserID><NewUserID><![CDATA[zhangsan2]]></NewUserID></xml>",
    "wecom_party": b"<xml><Event>change_contact</Event><ChangeType>delete_party</ChangeType><Id>5</Id></xml>",
    "wecom_envelope": b"<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[" + DINGTALK_VECTOR + b"]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>",
}
for name, data in events.items():
    write("callback_events", name, data)

# workbook: sheet XML (mode 1) and whole files (mode 0).
UPDATE = ["User ID", "Account", "Account Type", "Nickname", "Join Date", "Last Logon Time",
          "User Type", "Organization Role", "User Status", "tag_region", "Email", "Phone Number",
          "User Group"]
UPDATE_ROWS = [
    ["1", "user1", "Local", "alice_2", 45658, "", "Analyst", "Standard user", "Active", "North,South",
     "alice@example.com", "13800000001", "/Sales;/Sales/North"],
    ["2", "user2", "Local", "bob", "2025-01-02", "", "Viewer", "Permission administrator",
     "Disabled", "", "bad-email", "+86 138", "/Nowhere"],
    ["3", "user3", "Local", "alice", 45658.5, "", "Developer", "Standard user", "Active", "$ALL_MEMBERS$",
     "", "", ""],
]
IMPORT = ["Account", "Nickname", "Name", "Employee Number", "Email", "Phone Number", "Position",
          "User Group", "User Type", "Organization Role"]
IMPORT_ROWS = [
    ["newbie", "", "New Bie", "E001", "n@example.com", "13900000000", "Engineer", "/Sales",
     "Viewer", ""],
    ["taken", "alice", "", "", "", "", "", "/Sales/North", "Analyst", "Organization administrator"],
]


def column(i):
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def sheet_xml(rows):
    out = ['<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">')
        for c, value in enumerate(row):
            ref = f"{column(c)}{r}"
            if value == "":
                continue
            if isinstance(value, (int, float)):
                out.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def xlsx(sheet, method):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in PARTS.items():
            z.writestr(name, data)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


for name, rows in {"update": [UPDATE] + UPDATE_ROWS, "import": [IMPORT] + IMPORT_ROWS}.items():
    sheet = sheet_xml(rows)
    write("workbook", f"{name}_sheet", b"\x01" + sheet)
    write("workbook", f"{name}_deflated", b"\x00" + xlsx(sheet, zipfile.ZIP_DEFLATED))
    write("workbook", f"{name}_stored", b"\x00" + xlsx(sheet, zipfile.ZIP_STORED))
