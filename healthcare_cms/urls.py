from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import path

admin.site.site_header = "Healthcare CMS"
admin.site.site_title = "Healthcare CMS"
admin.site.index_title = "Content, compliance and jobs"

urlpatterns = [
    path("", lambda request: HttpResponseRedirect("/admin/")),
    path("admin/", admin.site.urls),
]
