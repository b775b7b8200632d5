from ui.admin import admin_page

admin_page()
