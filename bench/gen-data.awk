# Throwaway entries for bench/compare.sh, the same N entries in three formats:
#   JSON for `keyward import`, KeePass 2 XML for `keepassxc-cli import`, and one
#   plaintext file per entry in pass's layout (first line the key, then metadata lines).
# Usage: awk -v n=N -v first=0 -v kind=svc -v ticket=OPS -v seed=1 -v uuid_tag=0 \
#            -v json=F.json -v xml=F.xml -v plain=DIR -f bench/gen-data.awk
# Entry i (first <= i < first + n):
#   name     {provider}-{env}-{kind}{i:05}    e.g. openai-prod-svc00042
#   key      a well-formed key of the provider (keyward checks the format)
#   metadata provider, environment, URL, tags team-{i%13} and billing,
#            notes "service i owned by team-{i%13}; ticket {ticket}-{i:05}"
# so that "svc0042" finds 10 names (svc00420..svc00429) and "OPS-0042" the same 10
# entries through their notes only, whatever the size.

function rs(len,    s, k) { # len random characters of [A-Za-z0-9]
    s = ""
    for (k = 0; k < len; k++) s = s substr(ALNUM, int(rand() * 62) + 1, 1)
    return s
}

function b64_4(v,    b0, b1, b2, b3) { # base64 of the 4 bytes of v, padded for a 16-byte total
    b0 = int(v / 16777216) % 256; b1 = int(v / 65536) % 256; b2 = int(v / 256) % 256; b3 = v % 256
    return substr(B64, int(b0 / 4) + 1, 1) substr(B64, (b0 % 4) * 16 + int(b1 / 16) + 1, 1) \
        substr(B64, (b1 % 16) * 4 + int(b2 / 64) + 1, 1) substr(B64, b2 % 64 + 1, 1) \
        substr(B64, int(b3 / 4) + 1, 1) substr(B64, (b3 % 4) * 16 + 1, 1) "=="
}

BEGIN {
    ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    split("openai anthropic groq github stripe custom", P, " ")
    split("sk-proj-:48 sk-ant-api03-:40 gsk_:52 ghp_:36 sk_live_:24 cst_:32", K, " ")
    split("https://api.openai.com/v1 https://api.anthropic.com https://api.groq.com/openai/v1 https://api.github.com https://api.stripe.com https://internal.example.com/api", U, " ")
    split("prod staging dev test", E, " ")
    srand(seed)
    # 12 fixed bytes ("kwbench-" + the tag) then a 4-byte counter: unique UUIDs per set.
    uuid_prefix = "a3diZW5jaC0" (uuid_tag % 10) "AAAA"   # 16 base64 chars = 12 bytes
    if (json != "") printf "[" > json
    if (xml != "") {
        print "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>" > xml
        print "<KeePassFile><Meta><Generator>keyward bench</Generator><DatabaseName>bench</DatabaseName></Meta>" > xml
        print "<Root><Group><UUID>" uuid_prefix b64_4(4294967295) "</UUID><Name>Root</Name>" > xml
    }
    for (i = first; i < first + n; i++) {
        p = (i % 6) + 1
        prov = P[p]; env = E[int(i / 6) % 4 + 1]; url = U[p]
        split(K[p], kk, ":")
        key = kk[1] rs(kk[2])
        num = sprintf("%05d", i)
        name = prov "-" env "-" kind num
        team = "team-" (i % 13)
        notes = "service " i " owned by " team "; ticket " ticket "-" num
        if (json != "") {
            printf "%s\n{\"name\":\"%s\",\"provider\":\"%s\",\"environment\":\"%s\",\"base_url\":\"%s\",\"tags\":[\"%s\",\"billing\"],\"notes\":\"%s\",\"secret\":\"%s\"}", \
                (i == first ? "" : ","), name, prov, env, url, team, notes, key > json
        }
        if (xml != "") {
            printf "<Entry><UUID>%s</UUID><Tags>%s;billing</Tags>", uuid_prefix b64_4(i), team > xml
            printf "<String><Key>Title</Key><Value>%s</Value></String>", name > xml
            printf "<String><Key>UserName</Key><Value></Value></String>" > xml
            printf "<String><Key>Password</Key><Value ProtectInMemory=\"True\">%s</Value></String>", key > xml
            printf "<String><Key>URL</Key><Value>%s</Value></String>", url > xml
            printf "<String><Key>Notes</Key><Value>provider: %s\nenvironment: %s\n%s</Value></String></Entry>\n", prov, env, notes > xml
        }
        if (plain != "") {
            f = plain "/" name
            printf "%s\nprovider: %s\nenvironment: %s\nurl: %s\ntags: %s, billing\nnotes: %s\n", key, prov, env, url, team, notes > f
            close(f)
        }
    }
    if (json != "") { print "\n]" > json; close(json) }
    if (xml != "") { print "</Group></Root></KeePassFile>" > xml; close(xml) }
}
