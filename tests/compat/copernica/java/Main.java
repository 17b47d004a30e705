// A Copernica client as a Java integrator builds one: wsimport on the vendor's WSDL (here the
// one tests/compat/copernica_wsdl.py writes from the catalogue, in the vendor's namespace), the
// generated POMSOAPAPI service and POMPortType port, the login session kept by
// BindingProvider.SESSION_MAINTAIN_PROPERTY (the vendor's Java sample does the same: "otherwise
// we aren't logged in after the login request"), and the endpoint pointed at the mock.
//
// Usage: java -cp BUILD:JAXWS Main ENDPOINT flow EMAIL PRODUCT
//        java -cp BUILD:JAXWS Main ENDPOINT remove PROFILE_ID EMAIL
// "flow": a call before login (the Not logged on fault), login, the account's databases,
// Customers and its fields, a profile created, searched, updated, a subprofile created and
// read back two ways. "remove": login, Profile_remove, the search again.
// Prints one JSON object; on an error, {"failed": STEP, "error": ...} and exits 2.
// tests/compat/test_copernica_catalogue_clients.py builds it and asserts on the output.

import copernica.*;

import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

import javax.xml.ws.BindingProvider;
import javax.xml.ws.soap.SOAPFaultException;

public class Main {
    static final String USER = "api@shop.example", PASSWORD = "s3cret";
    static String step = "start";

    public static void main(String[] args) throws Exception {
        java.util.Map<String, Object> report;
        try {
            URL wsdl = Main.class.getResource("/copernica.wsdl");
            POMPortType port = new POMSOAPAPI(wsdl).getPOMPort();
            java.util.Map<String, Object> context = ((BindingProvider) port).getRequestContext();
            context.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, args[0]);
            context.put(BindingProvider.SESSION_MAINTAIN_PROPERTY, true);
            report = args[1].equals("flow") ? flow(port, args[2], args[3])
                                            : remove(port, Integer.parseInt(args[2]), args[3]);
        } catch (Exception error) {
            report = new LinkedHashMap<>();
            report.put("failed", step);
            report.put("error", error.getClass().getName() + ": " + error.getMessage());
            System.out.println(json(report));
            System.exit(2);
            return;
        }
        System.out.println(json(report));
    }

    static java.util.Map<String, Object> flow(POMPortType port, String email, String product) {
        java.util.Map<String, Object> report = new LinkedHashMap<>();

        step = "Account_databases before login";
        try {
            port.accountDatabases(new InputAccountDatabases());
            report.put("notLoggedOn", null);
        } catch (SOAPFaultException fault) {
            report.put("notLoggedOn", fault.getFault().getFaultString());
        }

        step = "login";
        InputLogin login = new InputLogin();
        login.setUsername(USER);
        login.setPassword(PASSWORD);
        report.put("login", port.login(login).getValue());

        step = "Account_databases";
        InputAccountDatabases databases = new InputAccountDatabases();
        databases.setAllproperties(true);
        List<String> names = new ArrayList<>();
        for (Database database : items(port.accountDatabases(databases)).getDatabase()) {
            names.add(database.getName());
        }
        report.put("databases", names);

        step = "Account_database";
        InputAccountDatabase byName = new InputAccountDatabase();
        byName.setIdentifier("Customers");
        Database database = port.accountDatabase(byName).getDatabase();
        report.put("database", database.getName());
        int db = database.getId();

        step = "Database_fields";
        InputDatabaseFields fields = new InputDatabaseFields();
        fields.setId(db);
        List<String> fieldNames = new ArrayList<>();
        for (Field field : items(port.databaseFields(fields)).getField()) {
            fieldNames.add(field.getName());
        }
        report.put("fields", fieldNames);

        step = "Database_createProfile";
        InputDatabaseCreateProfile create = new InputDatabaseCreateProfile();
        create.setId(db);
        create.setFields(map("Email", email, "FirstName", "Jörg", "City", "Köln"));
        Profile profile = port.databaseCreateProfile(create).getProfile();
        int id = profile.getId();
        report.put("profile", id);
        report.put("code", profile.getCode());

        step = "Database_searchProfiles";
        report.put("search", search(port, db, email));

        step = "Profile_updateFields";
        InputProfileUpdateFields update = new InputProfileUpdateFields();
        update.setId(id);
        update.setFields(map("City", "Berlin"));
        report.put("updated", port.profileUpdateFields(update).getValue());

        step = "Database_collection";
        InputDatabaseCollection orders = new InputDatabaseCollection();
        orders.setId(db);
        orders.setIdentifier("Orders");
        copernica.Collection collection = port.databaseCollection(orders).getCollection();
        report.put("collection", collection.getName());
        copernica.Collection reference = new copernica.Collection();
        reference.setId(collection.getId());

        step = "Profile_createSubProfile";
        InputProfileCreateSubProfile createSub = new InputProfileCreateSubProfile();
        createSub.setId(id);
        createSub.setCollection(reference);
        createSub.setFields(map("OrderNo", "2001", "Product", product));
        report.put("subprofile", port.profileCreateSubProfile(createSub).getSubprofile().getId());

        step = "Profile_subProfiles";
        InputProfileSubProfiles subs = new InputProfileSubProfiles();
        subs.setId(id);
        subs.setCollection(reference);
        subs.setAllproperties(true);
        report.put("subProfiles", subprofiles(port.profileSubProfiles(subs)));

        step = "Collection_searchSubProfiles";
        InputCollectionSearchSubProfiles searchSubs = new InputCollectionSearchSubProfiles();
        searchSubs.setId(collection.getId());
        searchSubs.setRequirements(requirements("Product", "=", product));
        searchSubs.setAllproperties(true);
        report.put("searchSubProfiles", subprofiles(port.collectionSearchSubProfiles(searchSubs)));
        return report;
    }

    static java.util.Map<String, Object> remove(POMPortType port, int id, String email) {
        java.util.Map<String, Object> report = new LinkedHashMap<>();
        step = "login";
        InputLogin login = new InputLogin();
        login.setUsername(USER);
        login.setPassword(PASSWORD);
        report.put("login", port.login(login).getValue());

        step = "Account_database";
        InputAccountDatabase byName = new InputAccountDatabase();
        byName.setIdentifier("Customers");
        int db = port.accountDatabase(byName).getDatabase().getId();

        step = "Profile_remove";
        InputProfileRemove remove = new InputProfileRemove();
        remove.setId(id);
        report.put("removed", port.profileRemove(remove).getValue());

        step = "Database_searchProfiles after Profile_remove";
        InputDatabaseSearchProfiles search = new InputDatabaseSearchProfiles();
        search.setId(db);
        search.setRequirements(requirements("Email", "=", email));
        report.put("total", port.databaseSearchProfiles(search).getTotal());
        return report;
    }

    /** Database_searchProfiles on Email = email, with all properties: total, ids, fields. */
    static java.util.Map<String, Object> search(POMPortType port, int db, String email) {
        InputDatabaseSearchProfiles search = new InputDatabaseSearchProfiles();
        search.setId(db);
        search.setRequirements(requirements("Email", "=", email));
        search.setAllproperties(true);
        Result result = port.databaseSearchProfiles(search);
        List<Object> found = new ArrayList<>();
        for (Profile profile : items(result).getProfile()) {
            java.util.Map<String, Object> seen = new LinkedHashMap<>();
            seen.put("id", profile.getId());
            seen.put("fields", pairs(profile.getFields()));
            found.add(seen);
        }
        java.util.Map<String, Object> seen = new LinkedHashMap<>();
        seen.put("total", result.getTotal());
        seen.put("profiles", found);
        return seen;
    }

    static List<Object> subprofiles(Result result) {
        List<Object> found = new ArrayList<>();
        for (SubProfile sub : items(result).getSubprofile()) {
            java.util.Map<String, Object> seen = new LinkedHashMap<>();
            seen.put("id", sub.getId());
            seen.put("fields", pairs(sub.getFields()));
            found.add(seen);
        }
        return found;
    }

    static Items items(Result result) {
        return result.getItems() == null ? new Items() : result.getItems();
    }

    /** A Map (Pair[]) from key, value, key, value... */
    static copernica.Map map(String... keysAndValues) {
        copernica.Map map = new copernica.Map();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            Pair pair = new Pair();
            pair.setKey(keysAndValues[i]);
            pair.setValue(keysAndValues[i + 1]);
            map.getPair().add(pair);
        }
        return map;
    }

    static java.util.Map<String, Object> pairs(copernica.Map map) {
        java.util.Map<String, Object> values = new LinkedHashMap<>();
        if (map != null) {
            for (Pair pair : map.getPair()) values.put(pair.getKey(), pair.getValue());
        }
        return values;
    }

    static Requirements requirements(String fieldname, String operator, String value) {
        Requirement requirement = new Requirement();
        requirement.setFieldname(fieldname);
        requirement.setOperator(operator);
        requirement.setValue(value);
        requirement.setCasesensitive(false);
        Requirements requirements = new Requirements();
        requirements.getRequirement().add(requirement);
        return requirements;
    }

    static String json(Object value) {
        if (value == null) return "null";
        if (value instanceof Number || value instanceof Boolean) return value.toString();
        if (value instanceof java.util.Map) {
            StringBuilder out = new StringBuilder("{");
            Iterator<? extends java.util.Map.Entry<?, ?>> entries =
                ((java.util.Map<?, ?>) value).entrySet().iterator();
            while (entries.hasNext()) {
                java.util.Map.Entry<?, ?> entry = entries.next();
                out.append(json(String.valueOf(entry.getKey()))).append(':')
                   .append(json(entry.getValue())).append(entries.hasNext() ? "," : "");
            }
            return out.append('}').toString();
        }
        if (value instanceof List) {
            StringBuilder out = new StringBuilder("[");
            Iterator<?> items = ((List<?>) value).iterator();
            while (items.hasNext()) {
                out.append(json(items.next())).append(items.hasNext() ? "," : "");
            }
            return out.append(']').toString();
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toString().toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }
}
